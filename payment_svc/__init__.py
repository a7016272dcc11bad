"""payment_svc: Stripe Checkout for products and top-ups, saved cards and webhooks."""
