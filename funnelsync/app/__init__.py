"""The library side of the admin commands: demo, doctor, export."""
