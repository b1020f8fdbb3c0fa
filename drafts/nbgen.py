"""Tiny helpers to write chapter notebooks with nbformat."""
import sys
sys.path.insert(0, "/work/main")
import nbformat
from tools.colab import bootstrap_cell

def md(text):
    return nbformat.v4.new_markdown_cell(text.strip("\n"))

def code(src, *, tags=None, caption=None, name=None):
    c = nbformat.v4.new_code_cell(src.strip("\n"))
    if tags:
        c.metadata["tags"] = list(tags)
    if caption:
        c.metadata["mystnb"] = {"figure": {"caption": caption, **({"name": name} if name else {})}}
    return c

def write(path, cells):
    nb = nbformat.v4.new_notebook(cells=[bootstrap_cell(), *cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
