"""Every reader of images: an input on disk -> the one format-neutral ``model.Image``.

Owns: format detection and image selection (``detect``: ``open_image``, ``list_images``), the formats
(``docker_archive``, ``oci_layout``), the files of a source (``store``), the image config (``config``) and how
builders write history entries (``created_by``), layer blobs (``blobs``: decompression, digests, limits), and the
tar reader (``tarheader``, ``tar_stream``, with its content-observer hook).

May import: ``model``, ``errors``, ``text``, ``units``. Never ``union`` or anything above.
"""
