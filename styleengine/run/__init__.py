"""A run as its caller sees it: the progress record, the JSON progress protocol, previews and
cancellation."""
