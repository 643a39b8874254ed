pytest_plugins = ["cchc.runtime.testing"]
