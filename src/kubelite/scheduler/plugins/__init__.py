"""One module per scheduling plugin; `scheduler/registry.py` lists them and their weights."""
