"""PricingService servicer: proto to domain and back."""

from pricing.v1 import pricing_service_pb2_grpc


class PricingServicer(pricing_service_pb2_grpc.PricingServiceServicer):
    pass
