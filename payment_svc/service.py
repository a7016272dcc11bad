"""PaymentService servicer: proto to domain and back."""

from payment.v1 import payment_service_pb2_grpc


class PaymentServicer(payment_service_pb2_grpc.PaymentServiceServicer):
    pass
