"""Client library and command line for fnplane."""
