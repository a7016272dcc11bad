"""BalanceService servicer: proto to domain and back."""

from balance.v1 import balance_service_pb2_grpc


class BalanceServicer(balance_service_pb2_grpc.BalanceServiceServicer):
    pass
