"""Restoration before colour: scratches, dust and folds; grain; fading. Runs on the luminance.

Modules, one concern each:

- ``stages``: the stages' frozen options and cards, ``parse_stages`` and ``parse_strengths`` (torch-free)
- ``pipeline``: ``restore_luma`` and ``Restorer`` (stages composed over the full-resolution luma, with
  progress and cancel), ``RestorationResult``
- ``damage``: synthetic damage, grain and fading, for training, tests and benchmarks
- ``detector_net``: the detector's network (``nn.Module`` only); ``detector_file``: its model file and card
- ``detection``: the loaded detector, its threshold and minimum-area rule (``DamageDetector``)
- ``fill``: inpainting a mask, the API the GUI calls with an edited mask
- ``levels``: automatic levels, gamma and CLAHE; ``denoise``: non-local means with a noise estimate
- ``tiling``: tile grids with overlap, a loop over them that reports progress and checks for cancel
- ``mask_edit``: the mask as an RGBA overlay and brush edits of it, for the GUI (Qt-free)
- ``batch``: restoring a batch plan (the ``restore`` command), and ``restore_photo`` for ``colorize --restore``

Nothing here imports torch at import time except ``detection``, ``detector_net`` and (inside its
functions) ``detector_file``; the pipeline imports the detector only when the scratch stage runs.
"""
