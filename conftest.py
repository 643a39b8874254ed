pytest_plugins = ["cchc.runtime.testing", "cchc.runtime.hung_tests"]
