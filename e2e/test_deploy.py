"""Checks the deployment files without a container engine: docker-compose.yml through
`docker-compose config` (and that its Envoy uses the demo's envoy.yaml), the Istio
WasmPlugin's structure and plugin configuration (the demo's, accepted by the real
artifact through jwt-gate-check), and the OCI image layout. Ends with `N passed, M failed`.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "target" / "debug" / "jwt-gate-check"


def demo_plugin_config():
    bootstrap = yaml.safe_load((ROOT / "envoy.yaml").read_text())
    for listener in bootstrap["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                for http_filter in network_filter["typed_config"].get("http_filters", []):
                    config = http_filter.get("typed_config", {}).get("config", {})
                    if config.get("root_id") == "jwt-gate":
                        return json.loads(config["configuration"]["value"])
    raise AssertionError("no jwt-gate filter in envoy.yaml")


def without_cluster_addresses(config):
    """The plugin configuration minus what differs between a static demo and Istio."""
    config = json.loads(json.dumps(config))
    for provider in config["providers"].values():
        for key in provider.get("keys", []):
            if "remote_jwks" in key:
                key["remote_jwks"].pop("cluster")
                key["remote_jwks"].pop("uri")
        if "user_check" in provider:
            provider["user_check"].pop("cluster")
            provider["user_check"].pop("authority")
    return config


class DockerCompose(unittest.TestCase):
    def test_compose_file_is_valid(self):
        compose = shutil.which("docker-compose")
        self.assertIsNotNone(compose, "docker-compose is not installed (make deploy-test installs it)")
        result = subprocess.run([compose, "-f", "docker-compose.yml", "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        rendered = yaml.safe_load(result.stdout)
        self.assertEqual(set(rendered["services"]), {"postgres", "auth-api", "backend", "envoy"})

    def test_compose_envoy_runs_the_demo_envoy_yaml_and_the_built_wasm(self):
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        envoy = compose["services"]["envoy"]
        mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in envoy["volumes"]}
        self.assertEqual(mounts.get("./envoy.yaml"), "/jwt-gate/envoy.yaml")
        self.assertIn("/jwt-gate/envoy.yaml", envoy["command"])
        wasm = "./target/wasm32-wasip1/release/jwt_gate.wasm"
        self.assertEqual(mounts.get(wasm), "/jwt-gate/target/wasm32-wasip1/release/jwt_gate.wasm")
        self.assertEqual(envoy["working_dir"], "/jwt-gate", "envoy.yaml names the wasm relative to the working directory")
        for name, service in compose["services"].items():
            self.assertEqual(service.get("network_mode"), "host", f"{name}: envoy.yaml's 127.0.0.1 addresses need the host network")
        self.assertTrue(compose["services"]["auth-api"]["environment"]["DATABASE_URL"].startswith("postgres://"))


class Istio(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plugin = yaml.safe_load((ROOT / "deploy" / "istio" / "wasmplugin.yaml").read_text())

    def test_wasmplugin_structure(self):
        self.assertEqual(self.plugin["apiVersion"], "extensions.istio.io/v1alpha1")
        self.assertEqual(self.plugin["kind"], "WasmPlugin")
        spec = self.plugin["spec"]
        self.assertEqual(spec["phase"], "AUTHN")
        self.assertEqual(spec["failStrategy"], "FAIL_CLOSE")
        self.assertTrue(spec["url"].startswith("oci://"))
        self.assertIn("matchLabels", spec["selector"])
        self.assertEqual(set(spec) - {"selector", "url", "imagePullPolicy", "phase", "failStrategy", "pluginName", "type", "pluginConfig"}, set())

    def test_plugin_config_is_the_demo_config(self):
        self.assertEqual(without_cluster_addresses(self.plugin["spec"]["pluginConfig"]), without_cluster_addresses(demo_plugin_config()))
        cluster = self.plugin["spec"]["pluginConfig"]["providers"]["demo"]["keys"][0]["remote_jwks"]["cluster"]
        self.assertRegex(cluster, r"^outbound\|\d+\|\|[a-z0-9.-]+$", "Istio names outbound clusters outbound|port||host")

    def test_plugin_config_is_accepted_by_the_real_filter(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as config:
            json.dump(self.plugin["spec"]["pluginConfig"], config)
            config.flush()
            wasm = ROOT / "target" / "wasm32-wasip1" / "release" / "jwt_gate.wasm"
            result = subprocess.run([str(CHECK), "--wasm", str(wasm), "--config", config.name, "--path", "/api/public/x"], capture_output=True, text=True, timeout=60)
        out = json.loads(result.stdout)
        self.assertTrue(out["config_ok"], out["config_error"])
        self.assertEqual(out["action"], "continue", "a public route of the demo config")


class Oci(unittest.TestCase):
    def test_image_holds_only_plugin_wasm(self):
        dockerfile = (ROOT / "deploy" / "oci" / "Dockerfile").read_text().splitlines()
        steps = [line.split()[0] for line in dockerfile if line.strip() and not line.startswith("#")]
        self.assertEqual(steps, ["FROM", "COPY"])
        self.assertIn("FROM scratch", dockerfile)
        self.assertIn("COPY target/wasm32-wasip1/release/jwt_gate.wasm ./plugin.wasm", dockerfile)


def main():
    suite = unittest.TestLoader().loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
