"""The data the book trains on: the Rock-Paper-Scissors images and classic data sets.

Public modules, for readers:

* :mod:`lrlib.data.rps`: :func:`~lrlib.data.rps.get_rps` finds, downloads or
  draws the images and says which ones it used;
* :mod:`lrlib.data.preload`: :class:`~lrlib.data.preload.Preloaded` decodes a
  data set once and serves tensors;
* :mod:`lrlib.data.pipeline`: :func:`~lrlib.data.pipeline.load_rps_data`, the
  whole pipeline of chapter 1 in one call, and
  :func:`~lrlib.data.pipeline.split_loaders`;
* :mod:`lrlib.data.classic`: :func:`~lrlib.data.classic.load_classic`, MNIST
  and CIFAR-10 standardized the same way.

Each of these names is also in the flat namespace (``from lrlib import
get_rps``). The private modules do the plumbing: ``_download`` (archives
fetched all or nothing and checked against their SHA-256), ``_standin`` (the
procedurally drawn stand-in used offline), ``_cache`` (decoded tensors kept
beside the data, checked against their SHA-256) and ``_filelock`` (processes
take turns on one folder).
"""

__all__: list[str] = []
