"""deploy/k8s offline: it renders, passes the Kubernetes schema and keeps the README's rules."""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.deploy.deploy_files import OUR_SERVICES, ROOT, is_entry_point, runnable_module

K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
# The oldest release we support (native gRPC probes and the preStop sleep action are on by default
# there) and the newest schema kubernetes-validate ships.
KUBE_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SECRET_SETTINGS = {"ADMIN_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "REDIS_URL"}
INGRESS_NAMESPACE = "ingress-nginx"


@functools.cache
def rendered(name: str) -> tuple[dict, ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render deploy/k8s (it is on the development and CI machines)"
    out = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZATIONS[name])], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def of_kind(name: str, kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in rendered(name) if doc["kind"] == kind}


def service_container(deployment: dict) -> dict:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def grpc_port(deployment: dict) -> int:
    return next(p["containerPort"] for p in service_container(deployment)["ports"] if p["name"] == "grpc")


def pod_labels(deployment: dict) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"the test reads only matchLabels: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def peers_admitted(name: str, labels: dict[str, str], port: int) -> list[dict]:
    """Every `from` peer of every NetworkPolicy that selects a pod with `labels` and opens `port`."""
    peers = []
    for policy in of_kind(name, "NetworkPolicy").values():
        if "Ingress" not in policy["spec"]["policyTypes"] or not selects(
            policy["spec"]["podSelector"], labels
        ):
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            if not ports or port in ports:
                peers.extend(rule.get("from") or [{"anyone": True}])
    return peers


def dockerfile_uid() -> int:
    return int(re.search(r"useradd .*--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))


@pytest.fixture(params=list(KUSTOMIZATIONS))
def variant(request) -> str:
    return request.param


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_base_and_production_render_and_pass_the_kubernetes_schema_strictly(variant, version):
    docs = rendered(variant)
    assert {d["kind"] for d in docs} >= {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_refuses_a_misspelt_field():
    deployment = copy.deepcopy(of_kind("base", "Deployment")["pricing"])
    container = service_container(deployment)
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[-1], strict=True)


def test_a_deployment_per_service_runs_its_module_from_the_image(variant):
    deployments = of_kind(variant, "Deployment")
    assert set(deployments) == set(OUR_SERVICES)
    for name, (module, _, _) in OUR_SERVICES.items():
        command = service_container(deployments[name])["command"]
        assert runnable_module(command) == module and is_entry_point(module), command


def test_every_pod_runs_as_the_images_non_root_user_on_a_read_only_root_without_capabilities(variant):
    for name, deployment in of_kind(variant, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == dockerfile_uid(), name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        container = service_container(deployment)["securityContext"]
        assert container["readOnlyRootFilesystem"] is True, name
        assert container["allowPrivilegeEscalation"] is False, name
        assert container["capabilities"] == {"drop": ["ALL"]}, name
        assert pod["automountServiceAccountToken"] is False, name


def test_every_service_has_native_grpc_probes_on_its_own_port_and_liveness_outlasts_readiness(variant):
    for name, deployment in of_kind(variant, "Deployment").items():
        container = service_container(deployment)
        port = grpc_port(deployment)
        assert port == OUR_SERVICES[name][1].model_fields[OUR_SERVICES[name][2][0]].default, name
        probes = {kind: container[f"{kind}Probe"] for kind in ("startup", "readiness", "liveness")}
        for kind, probe in probes.items():
            assert probe["grpc"] == {"port": port}, (name, kind)
        budget = {k: p["periodSeconds"] * p["failureThreshold"] for k, p in probes.items()}
        # A Redis outage turns health NOT_SERVING: pods leave the balancer long before any restart.
        assert budget["liveness"] >= 60 > budget["readiness"], (name, budget)


def test_every_container_has_cpu_and_memory_requests_and_limits(variant):
    for name, deployment in of_kind(variant, "Deployment").items():
        resources = service_container(deployment)["resources"]
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, (name, bound)


def test_shutdown_fits_the_grace_period(variant):
    for name, deployment in of_kind(variant, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        config = of_kind(variant, "ConfigMap")["priceledger-config"]["data"]
        pre_stop = service_container(deployment)["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pod["terminationGracePeriodSeconds"] > pre_stop + float(config["SHUTDOWN_GRACE_S"]), name


def test_secrets_are_referenced_never_inlined(variant):
    assert not of_kind(variant, "Secret"), "a Secret with its data is in the manifests"
    for kustomization in K8S.rglob("kustomization.yaml"):
        assert "secretGenerator" not in yaml.safe_load(kustomization.read_text()), kustomization
    for config in of_kind(variant, "ConfigMap").values():
        assert not SECRET_SETTINGS & set(config["data"]), config["metadata"]["name"]
    referenced = set()
    for name, deployment in of_kind(variant, "Deployment").items():
        for env in service_container(deployment).get("env", []):
            if env["name"] in SECRET_SETTINGS:
                assert "value" not in env and "secretKeyRef" in env["valueFrom"], (name, env)
                referenced.add(env["name"])
    assert referenced >= {"ADMIN_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}


def test_every_variable_the_manifests_set_is_a_setting_of_the_service(variant):
    configs = of_kind(variant, "ConfigMap")
    for name, deployment in of_kind(variant, "Deployment").items():
        settings = {field.upper() for field in OUR_SERVICES[name][1].model_fields}
        container = service_container(deployment)
        names = {env["name"] for env in container.get("env", [])}
        for source in container.get("envFrom", []):
            names |= set(configs[source["configMapRef"]["name"]]["data"])
        assert names <= settings, (name, names - settings)


def test_redis_is_an_external_cluster_endpoint_not_a_workload_of_ours(variant):
    assert of_kind(variant, "ConfigMap")["priceledger-redis"]["data"]["REDIS_CLUSTER_NODES"]
    assert not of_kind(variant, "StatefulSet")
    images = {service_container(d)["image"] for d in of_kind(variant, "Deployment").values()}
    assert not any("redis" in image for image in images), images


def test_only_payment_reaches_pricing_and_balance(variant):
    deployments = of_kind(variant, "Deployment")
    payment = pod_labels(deployments["payment"])
    default_deny = [p for p in of_kind(variant, "NetworkPolicy").values() if p["spec"]["podSelector"] == {}]
    assert any(p["spec"]["policyTypes"] == ["Ingress"] and not p["spec"].get("ingress") for p in default_deny)
    for name in ("pricing", "balance"):
        peers = peers_admitted(variant, pod_labels(deployments[name]), grpc_port(deployments[name]))
        assert peers, f"nothing reaches {name}"
        for peer in peers:
            assert set(peer) == {"podSelector"} and selects(peer["podSelector"], payment), (name, peer)
        other = {**payment, "app.kubernetes.io/name": "something-else"}
        assert not any(selects(peer["podSelector"], other) for peer in peers), name


def test_only_the_ingress_controller_reaches_the_webhook_port(variant):
    payment = of_kind(variant, "Deployment")["payment"]
    webhook_port = next(
        p["containerPort"] for p in service_container(payment)["ports"] if p["name"] == "webhooks"
    )
    assert webhook_port == OUR_SERVICES["payment"][1].model_fields["webhook_port"].default
    peers = peers_admitted(variant, pod_labels(payment), webhook_port)
    assert peers
    for peer in peers:
        namespace = peer["namespaceSelector"]["matchLabels"]
        assert namespace == {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}, peer
        assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": INGRESS_NAMESPACE}, peer


def test_each_service_has_a_service_a_disruption_budget_and_an_autoscaler_that_select_its_pods(variant):
    deployments = of_kind(variant, "Deployment")
    services, budgets = of_kind(variant, "Service"), of_kind(variant, "PodDisruptionBudget")
    autoscalers = of_kind(variant, "HorizontalPodAutoscaler")
    for name, deployment in deployments.items():
        labels = pod_labels(deployment)
        assert selects({"matchLabels": services[name]["spec"]["selector"]}, labels), name
        assert (
            selects(budgets[name]["spec"]["selector"], labels)
            and budgets[name]["spec"]["maxUnavailable"] == 1
        )
        target = autoscalers[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert autoscalers[name]["spec"]["minReplicas"] >= 2, "one pod cannot survive a drain"
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


def test_production_runs_three_pods_per_service_in_a_restricted_namespace():
    [namespace] = of_kind("production", "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in rendered("production"):
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace["metadata"]["name"], doc["metadata"]["name"]
    assert all(
        hpa["spec"]["minReplicas"] >= 3 for hpa in of_kind("production", "HorizontalPodAutoscaler").values()
    )
    [ingress] = of_kind("production", "Ingress").values()
    [path] = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert (path["path"], path["backend"]["service"]) == (
        "/webhooks/stripe",
        {"name": "payment", "port": {"name": "webhooks"}},
    )
