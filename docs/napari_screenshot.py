"""Render an OME-Zarr image and its label images in napari, save a PNG.

Makes ``docs/images/napari-example.png``. Not part of the test suite; imports
nothing from this project and runs in its own environment::

    uv venv /work/napari-venv -p 3.11
    VIRTUAL_ENV=/work/napari-venv uv pip install "napari[pyqt5]" napari-ome-zarr ome-zarr

Make the data with the project's environment::

    uv run fusion example -o demo.zarr --overwrite
    uv run fusion export ome-zarr demo.zarr -o demo.ome.zarr --overwrite

Render headless under a virtual X server (``apt-get install xvfb``; PyQt5's
xcb plugin also needs ``libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0``).
``QT_QPA_PLATFORM=offscreen`` does not work: the canvas comes out black::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" \\
        /work/napari-venv/bin/python docs/napari_screenshot.py \\
        demo.ome.zarr/electrode/grayscale -o docs/images/napari-example.png
"""

import argparse

import napari


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default="demo.ome.zarr/electrode/grayscale")
    parser.add_argument("-o", "--output", default="docs/images/napari-example.png")
    parser.add_argument("--ndisplay", type=int, choices=(2, 3), default=3)
    parser.add_argument("--opacity", type=float, default=0.6, help="labels opacity")
    parser.add_argument("--width", type=int, default=800, help="approx. PNG width (px)")
    args = parser.parse_args()

    # show=True: with a hidden window the GL canvas is never drawn (black PNG).
    viewer = napari.Viewer(show=True)
    # The reader adds the image plus every labels/* image as layers, with the
    # voxel scale and label colours taken from the OME metadata.
    layers = viewer.open(args.image, plugin="napari-ome-zarr")
    for layer in layers:
        if isinstance(layer, napari.layers.Labels):
            layer.visible = True  # the plugin adds labels hidden
            layer.opacity = args.opacity  # let the grey image show through

    viewer.dims.ndisplay = args.ndisplay
    if args.ndisplay == 2:  # show the middle z-slice
        low, high, _ = viewer.dims.range[0]
        viewer.dims.set_point(0, (low + high) / 2)
    viewer.reset_view()  # fit the camera to the data
    if args.ndisplay == 3:  # set after reset_view, which resets the angles
        viewer.scene.camera.angles = (-30.0, 40.0, 130.0)
    # Tight render of the data extent; scale it up to about --width pixels.
    extent_px = max(viewer.export_figure(flash=False).shape[:2])
    viewer.export_figure(args.output, scale_factor=args.width / extent_px, flash=False)
    print(f"wrote {args.output}: layers {[layer.name for layer in layers]}")
    viewer.close()


if __name__ == "__main__":
    main()
