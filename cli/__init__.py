"""dondoc's command line."""
