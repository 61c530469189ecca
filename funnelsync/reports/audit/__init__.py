"""The stage-definition audit: catalog definitions, history, identity and operating-rule checks."""
