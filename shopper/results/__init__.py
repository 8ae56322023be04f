"""Results of a period: rankings, weak indicators and their charts, read from rows stored
when an inspection is released or revised (shopper.results.service.record)."""
