"""Photo evidence: checking uploads, making renditions, storing them."""
