"""The virtual radio: bumble controllers on one shared link, in-process or over TCP."""
