"""SigLIP's pairwise sigmoid loss (Zhai et al., ICCV 2023, arXiv 2303.15343), in one process or exactly over W
workers by passing text embeddings around a ring, never materialising the gathered batch.

Every (image i, text j) pair of a batch of N pairs is a binary problem, label y_ij = +1 for the matching pair
(j = i) and -1 for every other:

    loss = -(1/N) * sum_i sum_j log sigmoid(y_ij * (t * zimg_i . ztxt_j + b))        zimg, ztxt: (N, D), L2-normed

with t = ``logit_scale`` (exp of the learnt t', SigLIP's init log 10) and b = ``logit_bias`` (learnt, SigLIP's init
-10: N - 1 of every N pairs are negatives, so the loss starts near that prior). No term is normalised over the
batch, unlike softmax: the double sum splits into blocks of rows x columns that can be scored one at a time.

``negatives`` (optim.negatives, see ``litlab.config.Optim``):
- ``"worker"``: each worker's loss on its own B pairs; averaged over workers (DDP), the mean of W single-process
  losses on B pairs each.
- ``"global"``: worker k's loss is its rows' share of the whole batch, -(1/B) sum_{i in k} sum_{j in all W*B},
  whose mean over the W workers is the single-process loss on the concatenated batch (N = W*B). DDP averages the
  parameters' gradients over workers; the ring sums each embedding's gradient over every worker's loss (as
  ``all_gather_with_grad`` does for softmax): together, exactly the single-process gradients.

The ring (``RingSigmoidLoss``), seen from worker k of W; a chunk is one worker's ztxt (B, D):
- forward: at step s = 0 .. W-1 worker k holds the chunk of worker c = (k - s) mod W (its own at s = 0: the only
  block with positives) and adds that block's terms. Meanwhile it sends the chunk on to worker k + 1 and receives
  chunk c - 1 from worker k - 1 (``batch_isend_irecv``, overlapped with the block's arithmetic). Saved for backward:
  the inputs only (this worker's zimg, ztxt, t, b); each (B, B) block is freed once summed.
- backward, given g = d(objective)/d(loss_k): the same ring again, recomputing each block's logits. With
  d = g * dloss_k/dlogits = (g/B) * (sigmoid(logits) - [y = +1])  (B, B), the block adds
      t * d @ ztxt_c          to zimg's gradient (zimg never leaves its worker),
      sum(d * zimg ztxt_c^T)  to t's gradient,  sum(d)  to b's gradient (both: this worker's loss only),
      t * d^T @ zimg          to an accumulator (B, D) that travels with chunk c.
  The accumulator of chunk c starts at its owner c and moves with the chunk, picking up each worker's term; after
  step W - 1 the chunk sits at worker c - 1 and its accumulator holds sum over all W workers m of
  d(loss_m)/d(ztxt_c). One more hop returns the accumulator to c, which returns it as ztxt's gradient: the gradient
  of every worker's loss comes back to the worker that owns the embedding, and autograd carries it into c's tower.
Memory per worker: a few (B, D) chunks and (B, B) blocks, never the gathered (W*B, D) or the (B, W*B) logits.
Traffic per step: W - 1 hops of a chunk forward; W - 1 hops of a chunk and W of an accumulator backward.
Every worker must hold the same number of rows B (the chunks are exchanged as same-shaped buffers).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from litlab.config import Negatives
from litlab.losses import check_negatives


def sigmoid_loss(zimg: torch.Tensor, ztxt: torch.Tensor, logit_scale: torch.Tensor, logit_bias: torch.Tensor | None,
                 *, negatives: Negatives = "global", world_size: int = 1) -> torch.Tensor:
    """zimg, ztxt: (B, D) L2-normalised local embeddings, row i of each a matching pair; t and b: () tensors.

    With ``negatives="global"`` and ``world_size`` > 1 every worker of the torch.distributed default group must
    call this (the ring); otherwise it is local to this process."""
    check_negatives(negatives)
    if logit_bias is None:
        raise ValueError("the sigmoid objective needs a logit bias: build the model with optim.objective=sigmoid")
    if negatives == "worker" or world_size == 1:
        return pairwise_sigmoid_loss(zimg, ztxt, logit_scale, logit_bias)
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() != world_size:
        size = dist.get_world_size() if dist.is_available() and dist.is_initialized() else "no process group"
        raise ValueError(f"the sigmoid ring over world_size={world_size} needs torch.distributed with that many "
                         f"workers, found {size}")
    return RingSigmoidLoss.apply(zimg, ztxt, logit_scale, logit_bias)


def pairwise_sigmoid_loss(zimg: torch.Tensor, ztxt: torch.Tensor, logit_scale: torch.Tensor,
                          logit_bias: torch.Tensor) -> torch.Tensor:
    """The loss of one process over its N pairs; autograd does the backward."""
    n = zimg.shape[0]
    logits = logit_scale * zimg @ ztxt.T + logit_bias  # (N, N)
    labels = 2 * torch.eye(n, dtype=logits.dtype, device=logits.device) - 1  # (N, N): +1 matching, -1 not
    return -F.logsigmoid(labels * logits).sum() / n


class RingSigmoidLoss(torch.autograd.Function):
    """Worker k's share of the global sigmoid loss, text chunks passed around the ring (see the module docstring)."""

    @staticmethod
    def forward(ctx, zimg: torch.Tensor, ztxt: torch.Tensor, logit_scale: torch.Tensor,
                logit_bias: torch.Tensor) -> torch.Tensor:
        ring = _Ring()
        total = zimg.new_zeros(())
        chunk = ztxt.contiguous()  # (B, D): at step s, worker (rank - s) mod W's texts
        for s in range(ring.world):
            last = s == ring.world - 1
            nxt, works = (None, []) if last else ring.pass_on(chunk, tag=0)
            logits = (zimg @ chunk.T).mul_(logit_scale).add_(logit_bias)  # (B, B), in place from here on
            total += _minus_logsigmoid_sum(_signed(logits, positives=s == 0))
            del logits
            ring.wait(works)
            chunk = nxt
        ctx.save_for_backward(zimg, ztxt, logit_scale, logit_bias)
        return total / zimg.shape[0]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, ...]:
        zimg, ztxt, scale, bias = ctx.saved_tensors
        ring, g = _Ring(), grad / zimg.shape[0]
        g_img, g_scale, g_bias = torch.zeros_like(zimg), torch.zeros_like(scale), torch.zeros_like(bias)
        chunk = ztxt.contiguous()
        acc = torch.zeros_like(chunk)  # d(the losses so far)/d(chunk): travels with the chunk
        for s in range(ring.world):
            last = s == ring.world - 1
            nxt, works = (None, []) if last else ring.pass_on(chunk, tag=0)
            sims = zimg @ chunk.T  # (B, B)
            d = (sims * scale).add_(bias).sigmoid_()  # (B, B) d(-log sigmoid(-logits))/d(logits): the negatives'
            if s == 0:
                d.diagonal().sub_(1.0)  # the positives': d(-log sigmoid(logits))/d(logits) = sigmoid - 1
            d.mul_(g)  # d(g * loss_k)/d(logits)
            g_scale += torch.dot(d.view(-1), sims.view(-1))
            g_bias += d.sum()
            d.mul_(scale)  # d(g * loss_k)/d(sims)
            g_img.addmm_(d, chunk)
            acc.addmm_(d.T, zimg)  # (B, D) received (and waited for) last step, or this worker's own at s = 0
            del sims, d
            acc_next, acc_works = ring.pass_on(acc, tag=1)  # after the last step: home to its owner
            ring.wait(works + acc_works)
            chunk, acc = nxt, acc_next
        return g_img, acc, g_scale, g_bias


class _Ring:
    """This worker's place in the ring of the default process group: receive from the left, send to the right."""

    def __init__(self) -> None:
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.right, self.left = (self.rank + 1) % self.world, (self.rank - 1) % self.world

    def pass_on(self, tensor: torch.Tensor, tag: int) -> tuple[torch.Tensor, list[dist.Work]]:
        """Start sending ``tensor`` (contiguous) right and receiving a like-shaped one from the left; wait() before
        using the received one or changing the sent one."""
        received = torch.empty_like(tensor)
        ops = [dist.P2POp(dist.isend, tensor, self.right, tag=tag),
               dist.P2POp(dist.irecv, received, self.left, tag=tag)]
        return received, dist.batch_isend_irecv(ops)

    @staticmethod
    def wait(works: list[dist.Work]) -> None:
        for work in works:
            work.wait()


def _signed(logits: torch.Tensor, positives: bool) -> torch.Tensor:
    """y * logits in place: negated, but for the diagonal of the block of a worker's own texts."""
    logits.neg_()
    if positives:
        logits.diagonal().neg_()
    return logits


def _minus_logsigmoid_sum(x: torch.Tensor) -> torch.Tensor:
    """sum(-log sigmoid(x)) = sum(log1p(exp(-|x|)) - min(x, 0)), torch's stable form, with one temporary; x is
    overwritten."""
    return x.abs().neg_().exp_().log1p_().sum() - x.clamp_(max=0.0).sum()
