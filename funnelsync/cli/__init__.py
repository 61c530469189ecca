"""The admin's command line: click commands only; one group maps errors to exit codes."""
