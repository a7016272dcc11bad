"""Standalone fake: `python -m devtools.fake_stripe --port P [--webhook-url U --webhook-secret S]`."""

import argparse
import asyncio
import os
import signal

from .server import FakeStripe

CONTROLS = """Test controls while it runs (form-encoded POSTs, no API key):
POST <session.url> [paid=false] completes a Checkout Session as if the customer paid;
POST <url>/_test/<name> runs FakeStripe.<name>(**form) for attach_card, complete_session,
expire_session, fail_next, payment_intent_event, refund_event, fail_refund, create_dispute,
close_dispute, payment_link_session, settle_async_payment and hang (on=false to stop), answering
{"result": ...}. While hung, /_test/ controls still answer; only the API does not."""


async def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.fake_stripe", description=__doc__, epilog=CONTROLS
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--webhook-url", help="where to POST signed events")
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("STRIPE_WEBHOOK_SECRET"),
        help="whsec_... used to sign them (default: $STRIPE_WEBHOOK_SECRET)",
    )
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    fake = FakeStripe(
        webhook_url=args.webhook_url, webhook_secret=args.webhook_secret, latency_ms=args.latency_ms
    )
    print(await fake.start(args.host, args.port), flush=True)  # callers read the URL from stdout
    stopped = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await fake.stop()


asyncio.run(main())
