"""The five techniques of Section 3, each a pure function plus a module around it.

=====================================  ==========================================  =======
technique                              pure function / module                      section
=====================================  ==========================================  =======
feature matching                       :func:`feature_matching_loss`,              3.1
                                       :class:`FeatureMatchingLoss`
minibatch discrimination               :func:`minibatch_features`,                 3.2
                                       :class:`MinibatchDiscrimination`
  (ImageNet: on the joint batch)       :func:`joint_minibatch_features`,           3.2
                                       :class:`JointMinibatchDiscrimination`
historical averaging                   :func:`historical_averaging_penalty`,       3.3
                                       :class:`HistoricalAverage`
one-sided label smoothing              :func:`smoothed_discriminator_loss`,        3.4
                                       :func:`smoothed_unsupervised_loss`,
                                       :func:`one_sided_smoothed_targets`,
                                       :class:`SmoothedDiscriminatorLoss`
virtual batch normalization            :func:`virtual_batch_norm`,                 3.5
                                       :class:`VirtualBatchNorm`,
                                       :class:`WithReferenceBatch`
=====================================  ==========================================  =======

They know nothing of models, trainers or files; docs/techniques/ has a page for each.
"""

from improved_gan.techniques.feature_matching import FeatureMatchingLoss, feature_matching_loss
from improved_gan.techniques.historical_averaging import HistoricalAverage, historical_averaging_penalty
from improved_gan.techniques.label_smoothing import (
    SmoothedDiscriminatorLoss,
    one_sided_smoothed_targets,
    smoothed_discriminator_loss,
)
from improved_gan.techniques.joint_minibatch_discrimination import (
    JointMinibatchDiscrimination,
    joint_minibatch_features,
)
from improved_gan.techniques.minibatch_discrimination import MinibatchDiscrimination, minibatch_features
from improved_gan.techniques.virtual_batch_normalization import (
    VirtualBatchNorm,
    WithReferenceBatch,
    reference_batch_norm,
    virtual_batch_norm,
)

__all__ = [
    "FeatureMatchingLoss",
    "HistoricalAverage",
    "JointMinibatchDiscrimination",
    "MinibatchDiscrimination",
    "SmoothedDiscriminatorLoss",
    "VirtualBatchNorm",
    "WithReferenceBatch",
    "feature_matching_loss",
    "historical_averaging_penalty",
    "joint_minibatch_features",
    "minibatch_features",
    "one_sided_smoothed_targets",
    "reference_batch_norm",
    "smoothed_discriminator_loss",
    "virtual_batch_norm",
]
