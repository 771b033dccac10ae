import types
import unittest
from pathlib import Path

from benchkit.daemons import DAEMONS, Ferryd

try:
    import tomllib  # Python 3.11+
except ImportError:  # pragma: no cover
    tomllib = None


def fake_bench(fsync_key: bool = True) -> types.SimpleNamespace:
    return types.SimpleNamespace(ports=types.SimpleNamespace(take=lambda: 20007), work=Path("/w"),
                                 certs=Path("/w/certs"), fsync_key=fsync_key)


class ConfigTests(unittest.TestCase):
    def config(self, name: str, **options) -> str:
        return Ferryd(fake_bench(options.pop("fsync_key", True)), name, Path("/dev/shm/root"), **options).config_text()

    @unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
    def test_a_rotating_daemon_is_valid_toml_with_every_setting(self):
        place, options = DAEMONS["rotate-64MiB"]
        config = tomllib.loads(self.config("rotate-64MiB", **options))
        self.assertEqual(config["server"], {"listen": ["127.0.0.1:20007"], "workers": 0})
        self.assertEqual(config["identity"], {"certificate": "/w/certs/server.crt",
                                              "private_key": "/w/certs/server.key", "client_ca": "/w/ca/ca.crt"})
        self.assertEqual(config["storage"], {"root": "/dev/shm/root", "allow_overwrite": True, "fsync": False})
        self.assertEqual(config["protocol"], {"ciphers": ["aes-256-gcm"], "rotate_after_bytes": "64MiB",
                                              "rotate_after_seconds": 0})
        self.assertEqual(config["log"], {"level": "warning"})
        self.assertNotIn("limits", config)

    @unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
    def test_direct_io_and_limits(self):
        config = tomllib.loads(self.config("idle", direct_io=False, limits={"max_sessions": "1100"}))
        self.assertEqual(config["storage"]["direct_io"], False)
        self.assertEqual(config["limits"], {"max_sessions": 1100})

    @unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
    def test_the_resume_daemon_is_the_ext4_one_logging_at_info(self):
        place, options = DAEMONS["resume"]
        self.assertEqual((place, {k: v for k, v in options.items() if k != "log_level"}), DAEMONS["ext4"])
        config = tomllib.loads(self.config("resume", **options))
        self.assertEqual(config["log"], {"level": "info"})
        self.assertEqual(config["storage"]["fsync"], False)

    def test_without_the_fsync_key_neither_fsync_nor_default_direct_io_is_written(self):
        text = self.config("probe", fsync=True, fsync_key=False)
        self.assertNotIn("fsync", text)
        self.assertNotIn("direct_io", text)
        self.assertIn('[storage]\nroot = "/dev/shm/root"\nallow_overwrite = true\n[protocol]\n', text)


if __name__ == "__main__":
    unittest.main()
