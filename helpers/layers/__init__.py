"""Custom Keras layers that make, change, pass on and consume masks.

Every layer here is written with ``keras.ops``, states its masking behaviour
explicitly (``supports_masking`` and/or ``compute_mask``), has a ``get_config``
and is registered for ``.keras`` saving under the package ``"padding_masking"``.

Submodules: ``embeddings`` (layers that make a mask), ``steps`` (layers that pass
one on, change it or consume it), ``convolution`` (masked convolution, pooling and a
two-input layer), ``fast_path`` (a recurrent layer's masked result on right-padded rows, without
the mask: chapter 8), ``package`` (the registration name).

| layer            | what it does with the mask                              |
|------------------|---------------------------------------------------------|
| CustomEmbedding  | makes one: ``ids != 0`` (with ``mask_zero=True``)       |
| MyActivation     | passes it on unchanged (``supports_masking = True``)    |
| TemporalSplit    | changes it: splits it in two along the time axis        |
| TemporalSoftmax  | consumes it: masked steps get weight 0, emits no mask   |
| EmbeddingLSTM    | makes one inside and passes it to its LSTM by hand      |
| MaskedConv1D     | zeroes padded steps, convolves, passes the mask on      |
| MaskedGlobalMaxPooling1D | the maximum over real steps; consumes the mask  |
| PairedMaskedMean | two inputs, two masks (``a_mask``, ``b_mask``)          |
| LastRealStep     | no mask: each row's output at its last real step       |
| FastPathRNN      | no mask: a masked LSTM/GRU's result from ``lengths``   |
"""

from helpers.layers.convolution import MaskedConv1D, MaskedGlobalMaxPooling1D, PairedMaskedMean
from helpers.layers.embeddings import CustomEmbedding, EmbeddingLSTM
from helpers.layers.fast_path import FastPathRNN, LastRealStep
from helpers.layers.package import PACKAGE
from helpers.layers.steps import MyActivation, TemporalSoftmax, TemporalSplit

__all__ = ["PACKAGE", "CustomEmbedding", "EmbeddingLSTM", "FastPathRNN", "LastRealStep", "MaskedConv1D",
           "MaskedGlobalMaxPooling1D", "MyActivation", "PairedMaskedMean", "TemporalSoftmax", "TemporalSplit"]
