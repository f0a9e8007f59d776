"""Many users: JupyterHub integration (jupyter-server-proxy launchers, ``slicer-cloud hub``)."""
