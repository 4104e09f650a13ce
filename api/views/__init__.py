"""Request handlers, one module per resource family: parse, call the domain, respond."""
