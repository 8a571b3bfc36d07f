"""Transport: HTTP in, HTTP out. Parses and renders; never computes answers."""
