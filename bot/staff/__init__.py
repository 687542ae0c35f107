"""Team desk accounts: staff who log in to the web desk (created by `python -m bot staff`, never by default)."""
