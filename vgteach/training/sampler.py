"""The m-per-class batch sampler: every batch holds several samples of each of its classes.

Pair- and triplet-based losses learn nothing from a batch without positives, and with 200 classes and
batches drawn uniformly most samples would have none. So each batch takes ``C = min(K, B // m)`` classes
and ``B // C`` samples of each (at least ``m``): with 10 classes and B = 512, every class fills a tenth of
the batch. Within a class, samples are drawn without replacement from a shuffled pool that is refilled
when it runs dry, so an epoch sees every sample about once; a class smaller than its share repeats samples.

The order depends only on ``(seed, epoch)`` — not on any global random state — which is what makes a
resumed run identical to an uninterrupted one. Every batch holds ``C`` distinct classes, so every batch
has the same class sizes (a loss may size its work once per batch shape, see ``TripletLoss``), and an
epoch's batches reach the device in one copy (a copy per step would wait for the GPU each time).
"""

from __future__ import annotations

import torch
from torch import Tensor


class MPerClassBatches:
    """Batches of indices into ``labels`` for one epoch: ``list(sampler.epoch(e))``.

    Parameters
    ----------
    labels : Tensor [N]
        Integer class ids of the training set.
    batch_size : int
        B. A batch holds ``C * (B // C)`` indices (B rounded down to a multiple of the class count).
    m_per_class : int
        The minimum number of samples per class in a batch.
    seed : int
    """

    def __init__(self, labels: Tensor, batch_size: int, m_per_class: int, seed: int = 0):
        labels = torch.as_tensor(labels).cpu()
        classes, inverse = torch.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"the training set needs at least 2 classes, got {len(classes)}")
        self.members = [torch.nonzero(inverse == k).flatten() for k in range(len(classes))]
        self.classes_per_batch = max(2, min(len(classes), batch_size // m_per_class))
        self.per_class = max(m_per_class, batch_size // self.classes_per_batch)
        self.batch_len = self.classes_per_batch * self.per_class
        self.num_batches = max(1, len(labels) // self.batch_len)
        self.seed = seed

    def __len__(self) -> int:
        return self.num_batches

    def epoch(self, epoch: int, device=None) -> list[Tensor]:
        """The ``num_batches`` index tensors of ``epoch`` (on ``device``, copied there in one transfer)."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        pools = [members[torch.randperm(len(members), generator=gen)] for members in self.members]
        cursors = [0] * len(pools)
        class_order = torch.empty(0, dtype=torch.long)
        batches = []
        for _ in range(self.num_batches):
            if len(class_order) < self.classes_per_batch:
                fresh = torch.randperm(len(pools), generator=gen)
                queued = torch.isin(fresh, class_order)  # still queued: last, so no batch holds a class twice
                class_order = torch.cat([class_order, fresh[~queued], fresh[queued]])
            chosen, class_order = class_order[: self.classes_per_batch], class_order[self.classes_per_batch :]
            parts = []
            for k in chosen.tolist():
                parts.append(self._take(pools, cursors, k, gen))
            batch = torch.cat(parts)
            batches.append(batch[torch.randperm(len(batch), generator=gen)])
        if device is None or torch.device(device).type == "cpu":
            return batches
        return list(torch.stack(batches).to(device).unbind(0))

    def _take(self, pools, cursors, k: int, gen) -> Tensor:
        """``per_class`` indices of class k from its shuffled pool, reshuffling it when exhausted."""
        taken = []
        need = self.per_class
        while need:
            pool = pools[k]
            if cursors[k] >= len(pool):
                pools[k] = self.members[k][torch.randperm(len(self.members[k]), generator=gen)]
                cursors[k], pool = 0, pools[k]
            part = pool[cursors[k] : cursors[k] + need]
            cursors[k] += len(part)
            need -= len(part)
            taken.append(part)
        return torch.cat(taken)
