{
  "targets": [
    {
      "target_name": "fbreplay_passthrough",
      "sources": ["passthrough.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
