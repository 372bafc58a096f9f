"""Text-tower architectures (BERT, T5 encoder, ViT-style transformer) and their pooling.

Each module builds one family of towers; the names, the registry and the rules on padding and pooling live in
``litlab.models.text_towers``, which is the module the rest of litlab imports.
"""
