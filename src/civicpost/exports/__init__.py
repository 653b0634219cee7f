"""Signed records exports: a zipped BagIt bag of every announcement in a date range."""
