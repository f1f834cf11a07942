"""Bring your own model: weights published by other projects, identified and run through spandrel.

A user adds a ``.pth``, ``.pt``, ``.ckpt`` or ``.safetensors`` file with ``main.py models --add``.
Revive reads it without ever running code from it (safetensors, or spandrel's restricted
unpickler), lets spandrel identify the architecture from the tensors' names and shapes, and
copies the very bytes it examined into ``<user models>/external/`` beside a JSON card it writes
(``card.py``). Each task has a runner with a documented contract:

=================  ======================  ==============================================
task               architectures            runner
=================  ======================  ==============================================
colorization       DDColor                  ``external_colorizer.ExternalColorizer``
face restoration   GFPGAN, CodeFormer,      ``faces.FaceRestorer.apply_faces``
                   RestoreFormer
inpainting         LaMa, MAT                ``inpainting.Inpainter.fill``
upscaling          ESRGAN/Real-ESRGAN,      ``upscaling.Upscaler.upscale``
                   Compact, SPAN, SwinIR...
restoration (1x)   SCUNet, NAFNet...        ``upscaling.Upscaler.upscale`` (scale 1)
=================  ======================  ==============================================

Modules: ``card`` and ``store`` are torch-free (``models`` lists without importing torch);
``loading`` reads and identifies files; ``adding`` installs one (``naming``, torch-free, checks its name); ``runtime`` puts a model on a
device; ``tiling`` plans tiles; ``finishing`` chains faces and upscaling for the batch runner.
"""
