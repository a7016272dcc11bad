"""An OTLP/gRPC trace collector that accepts every export and keeps nothing, so a traced service pays the
whole export (batching, encoding, the gRPC call) and the bench pays only the decoding."""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tpb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as tgrpc

_ACCEPTED = tpb.ExportTraceServiceResponse()


class DiscardingTraceService(tgrpc.TraceServiceServicer):
    async def Export(self, request, context):
        return _ACCEPTED


async def serve(port: int) -> None:
    server = grpc.aio.server()
    tgrpc.add_TraceServiceServicer_to_server(DiscardingTraceService(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(None)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.otlp_sink", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
