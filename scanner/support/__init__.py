"""Support: what every stage needs and none owns.

Bounded reading of user files (`files`), atomic writes (`atomic`), the YAML
reader with file:line problems (`yaml_files`; the problems themselves in
`problems`), where the built-in data lies (`resources`), the user's cache
directory (`user_cache`), dataclass <-> JSON data (`codec`) and the project's
error types (`errors`).

May import: the standard library and third-party libraries only; never the
model or any stage.
"""
