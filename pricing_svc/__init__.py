"""pricing_svc: the price of every product, by mode, with discount codes."""
