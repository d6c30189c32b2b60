"""The lab self-checks (vgteach.labs): they must accept a correct student solution written from the formulas
(here: plain loops, nothing shared with vgteach) and reject typical mistakes with a message that says why."""

import math

import pytest
import torch
import torch.nn.functional as F

from vgteach import labs


# --------------------------------------------------------------- "student" solutions, straight from DESIGN.md
def loop_contrastive(embeddings, labels, margin=1.0):
    z = F.normalize(embeddings, dim=1)
    pos, neg = [], []
    for i in range(len(z)):
        for j in range(i + 1, len(z)):
            d = (z[i] - z[j]).norm()
            if labels[i] == labels[j]:
                pos.append(d**2)
            else:
                neg.append(torch.clamp(margin - d, min=0) ** 2)
    mean = lambda xs: torch.stack(xs).mean() if xs else z.sum() * 0
    return 0.5 * mean(pos) + 0.5 * mean(neg)


def loop_triplet(embeddings, labels, margin=0.2, guard_empty=True):
    z = F.normalize(embeddings, dim=1)
    active = []
    for a in range(len(z)):
        for p in range(len(z)):
            for n in range(len(z)):
                if p != a and labels[p] == labels[a] and labels[n] != labels[a]:
                    value = (z[a] - z[p]).pow(2).sum() - (z[a] - z[n]).pow(2).sum() + margin
                    if value > 0:
                        active.append(value)
    if not active and guard_empty:
        return z.sum() * 0
    return torch.stack(active).mean() if active else torch.tensor(float("nan"))


def loop_infonce(embeddings, labels, temperature=0.1):
    z = F.normalize(embeddings, dim=1)
    terms = []
    for i in range(len(z)):
        negatives = [n for n in range(len(z)) if labels[n] != labels[i]]
        for p in range(len(z)):
            if p == i or labels[p] != labels[i]:
                continue
            logits = torch.stack([z[i] @ z[p]] + [z[i] @ z[n] for n in negatives]) / temperature
            terms.append(-torch.log_softmax(logits, dim=0)[0])
    return torch.stack(terms).mean() if terms else z.sum() * 0


def loop_supcon(embeddings, labels, temperature=0.1):
    z = F.normalize(embeddings, dim=1)
    terms = []
    for i in range(len(z)):
        others = [a for a in range(len(z)) if a != i]
        positives = [p for p in others if labels[p] == labels[i]]
        if not positives:
            continue
        log_prob = torch.log_softmax(torch.stack([z[i] @ z[a] for a in others]) / temperature, dim=0)
        terms.append(-torch.stack([log_prob[others.index(p)] for p in positives]).mean())
    return torch.stack(terms).mean() if terms else z.sum() * 0


def loop_npair(embeddings, labels, scale=1.0):
    z = F.normalize(embeddings, dim=1)
    anchors, positives = [], []
    for label in dict.fromkeys(labels.tolist()):  # labels in order of first appearance
        members = [i for i in range(len(z)) if labels[i] == label]
        if len(members) >= 2:
            anchors.append(members[0])
            positives.append(members[1])
    if len(anchors) < 2:
        return z.sum() * 0
    logits = scale * z[anchors] @ z[positives].T
    return F.cross_entropy(logits, torch.arange(len(anchors)))


def loop_arcface(embeddings, labels, proxies, scale=64.0, margin=0.5):
    z = F.normalize(embeddings, dim=1)
    w = F.normalize(proxies, dim=1)
    losses = []
    for i in range(len(z)):
        cos = z[i] @ w.T
        y = int(labels[i])
        theta = torch.acos(cos[y].clamp(-1 + 1e-12, 1 - 1e-12))
        if cos[y] > math.cos(math.pi - margin):
            phi = torch.cos(theta + margin)
        else:
            phi = cos[y] - margin * math.sin(math.pi - margin)
        logits = torch.cat([cos[:y], phi[None], cos[y + 1 :]]) * scale
        losses.append(-torch.log_softmax(logits, dim=0)[y])
    return torch.stack(losses).mean()


def loop_ccl(embeddings, labels, centers, temperature=0.1, margin=0.2, pull_weight=1.0):
    z = F.normalize(embeddings, dim=1)
    c = F.normalize(centers, dim=1)
    losses = []
    for i in range(len(z)):
        y = int(labels[i])
        logits = z[i] @ c.T
        logits = torch.cat([logits[:y], logits[y : y + 1] - margin, logits[y + 1 :]]) / temperature
        losses.append(-torch.log_softmax(logits, dim=0)[y] + pull_weight * (z[i] - c[y]).pow(2).sum())
    return torch.stack(losses).mean()


STUDENT_SOLUTIONS = {
    "contrastive": (labs.check_contrastive, loop_contrastive),
    "triplet": (labs.check_triplet, loop_triplet),
    "npair": (labs.check_npair, loop_npair),
    "infonce": (labs.check_infonce, loop_infonce),
    "arcface": (labs.check_arcface, loop_arcface),
    "supcon": (labs.check_supcon, loop_supcon),
    "ccl": (labs.check_ccl, loop_ccl),
}


@pytest.mark.parametrize("loss_name", list(STUDENT_SOLUTIONS))
def test_a_correct_loop_solution_passes(loss_name):
    check, solution = STUDENT_SOLUTIONS[loss_name]
    result = check(solution)
    assert result.passed, result.message
    assert bool(result) and str(result).startswith("✅")


def test_every_loss_has_a_check():
    assert set(labs.LOSS_HINTS) == set(labs.LOSS_NAMES) == set(STUDENT_SOLUTIONS)


# --------------------------------------------------------------------------------- typical mistakes
def test_forgetting_to_normalise_gets_the_normalisation_hint():
    def unnormalised(embeddings, labels, margin=1.0):
        d = torch.cdist(embeddings, embeddings)
        iu = torch.triu_indices(len(labels), len(labels), 1)
        same = labels[iu[0]] == labels[iu[1]]
        d = d[iu[0], iu[1]]
        return 0.5 * d[same].pow(2).mean() + 0.5 * (margin - d[~same]).clamp(min=0).pow(2).mean()

    result = labs.check_contrastive(unnormalised)
    assert not result.passed
    assert "batch 1" in result.message and "normalise first" in result.message


def test_normalising_with_a_detached_norm_gets_the_radial_gradient_hint():
    def detached_norm(embeddings, labels, margin=1.0):
        z = embeddings / embeddings.norm(dim=1, keepdim=True).detach()
        i, j = torch.triu_indices(len(z), len(z), 1)
        d = (z[i] - z[j]).norm(dim=1)
        same = labels[i] == labels[j]
        return 0.5 * d[same].pow(2).mean() + 0.5 * (margin - d[~same]).clamp(min=0).pow(2).mean()

    result = labs.check_contrastive(detached_norm)
    assert not result.passed
    assert "gradient does not" in result.message and "did not normalise" in result.message


def test_an_unguarded_empty_mean_is_reported_as_nan_with_the_reason():
    result = labs.check_triplet(lambda e, y: loop_triplet(e, y, guard_empty=False))
    assert not result.passed
    assert "nan" in result.message and "empty set" in result.message


def test_a_detached_loss_is_rejected_even_when_its_value_is_right():
    result = labs.check_infonce(lambda e, y: torch.tensor(float(loop_infonce(e, y).detach())))
    assert not result.passed and "no gradient flows" in result.message


def test_wrong_gradient_with_right_value_is_caught():
    def value_right_gradient_wrong(embeddings, labels):
        loss = loop_supcon(embeddings, labels)
        return loss.detach() + 0.5 * (embeddings.sum() - embeddings.sum().detach())

    result = labs.check_supcon(value_right_gradient_wrong)
    assert not result.passed and "gradient does not" in result.message


def test_exceptions_in_student_code_become_messages():
    def broken(embeddings, labels):
        raise RuntimeError("shape mismatch in my code")

    result = labs.check_contrastive(broken)
    assert not result.passed and "RuntimeError: shape mismatch in my code" in result.message


def test_a_non_scalar_loss_is_explained():
    result = labs.check_contrastive(lambda e, y: F.normalize(e, dim=1).sum(dim=1))
    assert not result.passed and "single number" in result.message


def test_a_wrong_hyperparameter_fails():
    result = labs.check_infonce(lambda e, y: loop_infonce(e, y, temperature=0.5))
    assert not result.passed and "vgteach gives" in result.message


def test_check_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown loss"):
        labs.check_loss(loop_contrastive, "hinge")
    with pytest.raises(TypeError, match="your function"):
        labs.check_loss("not a function", "contrastive")


def test_cases_cover_the_awkward_batches():
    cases = labs.make_cases()
    assert any(case.unit_length for case in cases) and any(not case.unit_length for case in cases)
    counts = [torch.bincount(case.labels) for case in cases]
    assert any((c == 1).any() for c in counts)  # a singleton class
    assert any(len(c) == 1 for c in counts)  # no negatives
    assert any((c == 1).all() for c in counts)  # no positives


# ------------------------------------------------------------------------------- geometry and greediness
def test_check_squared_distances():
    assert labs.check_squared_distances(lambda z: torch.cdist(z, z) ** 2).passed
    result = labs.check_squared_distances(lambda z: torch.cdist(z, z))
    assert not result.passed and "2 − 2 z @ z.T" in result.message


def loop_variance(embeddings, labels):
    z = F.normalize(embeddings, dim=1)
    classes = sorted(set(labels.tolist()))
    means = {c: z[labels == c].mean(0) for c in classes}
    intra = sum(float((z[labels == c] - means[c]).pow(2).sum(1).mean()) for c in classes) / len(classes)
    pairs = [(a, b) for a in classes for b in classes if a != b]
    inter = sum(float((means[a] - means[b]).pow(2).sum()) for a, b in pairs) / len(pairs)
    return intra, inter


def test_check_variance():
    assert labs.check_variance(loop_variance).passed
    weighted = lambda e, y: (
        float((F.normalize(e, dim=1) - F.normalize(e, dim=1).mean(0)).pow(2).sum(1).mean()),
        loop_variance(e, y)[1],
    )
    result = labs.check_variance(weighted)
    assert not result.passed and "intra" in result.message


def loop_recall(embeddings, labels, k):
    z = F.normalize(embeddings, dim=1)
    hits = []
    for i in range(len(z)):
        if (labels == labels[i]).sum() < 2:
            continue
        similarity = z @ z[i]
        similarity[i] = -float("inf")
        top = similarity.topk(k).indices
        hits.append(float((labels[top] == labels[i]).any()))
    return sum(hits) / len(hits)


@pytest.mark.parametrize("k", [1, 2])
def test_check_recall_at_k(k):
    assert labs.check_recall_at_k(loop_recall, k=k).passed


def test_check_recall_at_k_catches_a_query_matching_itself():
    def self_included(embeddings, labels, k):
        z = F.normalize(embeddings, dim=1)
        top = (z @ z.T).topk(k, dim=1).indices
        return float((labels[top] == labels[:, None]).any(1).float().mean())

    assert not labs.check_recall_at_k(self_included, k=1).passed


def loop_triplet_counts(embeddings, labels, margin):
    z = F.normalize(embeddings, dim=1)
    active = total = 0
    for a in range(len(z)):
        for p in range(len(z)):
            for n in range(len(z)):
                if p != a and labels[p] == labels[a] and labels[n] != labels[a]:
                    total += 1
                    active += int((z[a] - z[p]).pow(2).sum() - (z[a] - z[n]).pow(2).sum() + margin > 0)
    return active, total


def test_check_triplet_active():
    assert labs.check_triplet_active(loop_triplet_counts).passed
    result = labs.check_triplet_active(lambda e, y, m: loop_triplet_counts(e, y, 0.0))
    assert not result.passed and "active" in result.message


def test_check_grad_norms():
    def autograd_norms(loss_fn, embeddings, labels):
        e = embeddings.detach().clone().requires_grad_(True)
        return torch.autograd.grad(loss_fn(e, labels), e)[0].norm(dim=1)

    assert labs.check_grad_norms(autograd_norms).passed
    result = labs.check_grad_norms(lambda loss_fn, e, y: autograd_norms(loss_fn, e, y) ** 2)
    assert not result.passed


def sorted_gini(values):
    x = torch.sort(torch.as_tensor(values, dtype=torch.float64)).values
    n = len(x)
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return float(((2 * i - n - 1) * x).sum() / (n * x.sum()))


def test_check_gini():
    assert labs.check_gini(sorted_gini).passed
    assert not labs.check_gini(lambda v: float(torch.as_tensor(v).std())).passed


def test_an_unwritten_stub_is_reported_as_not_written_yet():
    def my_contrastive(embeddings, labels, margin=1.0):
        raise NotImplementedError("your code here")

    result = labs.check_contrastive(my_contrastive)
    assert not result.passed and "not written yet" in result.message


@pytest.mark.parametrize("check", [labs.check_arcface, labs.check_ccl, labs.check_squared_distances])
def test_a_stub_is_told_not_written_yet_on_its_first_shown_line_and_gets_no_hint(check):
    """A stub made no mistake to diagnose: the formula hint (the answer) is not shown, and however the
    message wraps in a cell's output, its first line says what is wrong."""

    def my_stub(*args):
        raise NotImplementedError

    result = check(my_stub)
    shown = labs.kit.wrap_message(result.message).splitlines()
    assert not result and "my_stub is not written yet" in shown[0]
    assert "Hint" not in result.message


def loop_convergence_epoch(history):
    start, final = history["recall@1"].iloc[0], history["recall@1"].iloc[-1]
    for epoch, value in zip(history["epoch"], history["recall@1"]):
        if value - start >= 0.9 * (final - start):
            return int(epoch)


def loop_compaction_epoch(history):
    start, final = history["intra"].iloc[0], history["intra"].iloc[-1]
    if not final < start:
        return float("nan")
    for epoch, value in zip(history["epoch"], history["intra"]):
        if value - final <= 0.1 * (start - final):
            return int(epoch)


def test_check_convergence_and_compaction_epochs():
    assert labs.check_convergence_epoch(loop_convergence_epoch).passed
    assert labs.check_compaction_epoch(loop_compaction_epoch).passed
    # common mistakes: the last epoch that misses the bar, or comparing with the maximum instead of the final
    assert not labs.check_convergence_epoch(
        lambda h: int(h["epoch"][h["recall@1"] >= 0.9 * h["recall@1"].max()].iloc[0])
    ).passed
    assert not labs.check_compaction_epoch(lambda h: int(h["epoch"].iloc[-1])).passed
    # ... and the rules that ignore the untrained head (90 % of the final value, within 10 % of the final value)
    assert not labs.check_convergence_epoch(ignoring_epoch_0("recall@1", lambda v, final: v >= 0.9 * final)).passed
    assert not labs.check_compaction_epoch(
        ignoring_epoch_0("intra", lambda v, final: abs(v - final) <= 0.1 * final)
    ).passed

    # ... and the two-sided rule (an overshoot below the final value waits for the relaxation), or an epoch
    # for a run whose classes spread
    def two_sided(history):
        start, final = history["intra"].iloc[0], history["intra"].iloc[-1]
        close = (history["intra"] - final).abs() <= 0.1 * abs(start - final)
        return int(history["epoch"][close].iloc[0])

    result = labs.check_compaction_epoch(two_sided)
    assert not result.passed and "overshoot" in str(result)


def ignoring_epoch_0(column, reached):
    def epoch(history):
        final = history[column].iloc[-1]
        return next(int(e) for e, v in zip(history["epoch"], history[column]) if reached(v, final))

    return epoch


# ------------------------------------------------------------------------------- prediction questions
def formula_term(loss_name, z, labels, key):
    """One term's value from its formula (plain indexing, nothing shared with vgteach)."""
    d2 = lambda i, j: float((z[i] - z[j]).pow(2).sum())  # noqa: E731
    if loss_name == "contrastive":
        i, j = key
        return d2(i, j) if labels[i] == labels[j] else max(0.0, 1.0 - math.sqrt(d2(i, j))) ** 2
    if loss_name == "triplet":
        a, p, n = key
        return max(0.0, d2(a, p) - d2(a, n) + 0.2)
    if loss_name == "infonce":
        i, p = key
        negatives = [float(z[i] @ z[n]) / 0.1 for n in range(len(z)) if labels[n] != labels[i]]
        return math.log1p(sum(math.exp(s - float(z[i] @ z[p]) / 0.1) for s in negatives))
    raise AssertionError(loss_name)


@pytest.mark.parametrize("loss_name", ["contrastive", "triplet", "infonce", "npair"])
def test_term_keys_name_the_terms_in_their_order(loss_name):
    for case in labs.make_cases(edge_cases=False):
        z = F.normalize(case.embeddings, dim=1)
        keys = labs.term_keys(loss_name, case.labels)
        values = labs.build_loss(loss_name).double().terms(case.embeddings, case.labels).values
        assert len(keys) == len(values), case.description
        if loss_name == "npair":  # the anchor: the first sample of its label, labels in increasing order
            labels = case.labels.tolist()
            firsts = sorted((label, labels.index(label)) for label in set(labels) if labels.count(label) >= 2)
            assert keys == [(index,) for _, index in firsts]
            continue
        for key, value in zip(keys, values.tolist()):
            assert formula_term(loss_name, z, case.labels.tolist(), key) == pytest.approx(value, abs=1e-9)


def circle(*degrees):
    return torch.tensor([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in degrees], dtype=torch.float64)


def test_active_prediction_grades_right_wrong_and_unanswered():
    # two classes on a circle: the negative pairs closer than the margin (60°) are active, positives always
    embeddings, labels = circle(0, 50, 40, 120), torch.tensor([0, 0, 1, 1])
    right = {(0, 1), (0, 2), (1, 2), (2, 3)}  # (1, 3) is 70° apart, (0, 3) 120°
    assert labs.check_active_prediction(right, embeddings, labels, "contrastive")
    assert labs.check_active_prediction([list(key) for key in right], embeddings, labels, "contrastive")
    missed = labs.check_active_prediction(right - {(2, 3)}, embeddings, labels, "contrastive")
    assert not missed and "missed (2, 3)" in str(missed)
    extra = labs.check_active_prediction(right | {(1, 3)}, embeddings, labels, "contrastive")
    assert not extra and "(1, 3) inactive" in str(extra)
    unanswered = labs.check_active_prediction(None, embeddings, labels, "contrastive")
    assert not unanswered and "Not answered yet" in str(unanswered)
    wrong_shape = labs.check_active_prediction({(0, 1, 2)}, embeddings, labels, "contrastive")
    assert not wrong_shape and "(0, 1, 2) is not a term of the Contrastive loss" in str(wrong_shape)
    assert "A term is a pair of samples (i, j)" in str(wrong_shape)
    assert not labs.check_active_prediction(42, embeddings, labels, "contrastive")
    with pytest.raises(ValueError, match="term_keys knows"):
        labs.term_keys("arcface", labels)


def test_gradient_prediction_grades_npair_roles():
    # N-pair uses the first two samples of each label: here 1, 3 (label 0) and 0, 2 (label 1); 4 and 5 idle
    embeddings, labels = circle(10, 100, 200, 250, 300, 30), torch.tensor([1, 0, 1, 0, 0, 1])
    assert labs.check_gradient_prediction({0, 1, 2, 3}, embeddings, labels, "npair")
    wrong = labs.check_gradient_prediction({0, 1, 2, 3, 4}, embeddings, labels, "npair")
    assert not wrong and "4 get no gradient" in str(wrong)
    assert "Not answered yet" in str(labs.check_gradient_prediction(None, embeddings, labels, "npair"))
    assert not labs.check_gradient_prediction({9}, embeddings, labels, "npair")


# ------------------------------------------------------------- the proxy and SupCon chapters' exercises
def silent_angle_from_formula(scale=64.0, margin=0.5, eps=1e-3):
    # ℓ = log(1 + e^{−γφ}) ≤ ε  ⇔  φ ≥ log(1 / (e^ε − 1)) / γ, and φ = cos(θ + m)
    return math.degrees(math.acos(math.log(1 / math.expm1(eps)) / scale) - margin)


def test_check_silent_angle_grades_right_wrong_and_unanswered():
    assert labs.check_silent_angle(silent_angle_from_formula())
    assert labs.check_silent_angle(torch.tensor(silent_angle_from_formula()))  # a 0-dim tensor is a number too
    assert labs.check_silent_angle(silent_angle_from_formula(30.0, 0.3), scale=30.0, margin=0.3)
    # the margin alone (90° − m) ignores the scale: too large
    margin_only = labs.check_silent_angle(90 - math.degrees(0.5))
    assert not margin_only and "too large" in str(margin_only)
    assert not labs.check_silent_angle(silent_angle_from_formula(30.0, 0.3))  # the default γ = 64, m = 0.5
    unanswered = labs.check_silent_angle(None)
    assert not unanswered and "Not answered yet" in str(unanswered)
    assert not labs.check_silent_angle("about 50")


def test_arcface_silent_angle_is_measured_on_the_loss():
    for scale, margin in ((64.0, 0.5), (16.0, 0.2)):
        assert labs.arcface_silent_angle(scale, margin) == pytest.approx(
            silent_angle_from_formula(scale, margin), abs=0.02
        )


def loop_floors(labels):
    labels = labels.tolist()
    counts = [sum(other == label for other in labels) - 1 for label in labels]
    return torch.tensor([math.log(count) for count in counts if count > 0])


def test_check_floors():
    assert labs.check_floors(loop_floors)
    zeros = labs.check_floors(lambda labels: torch.zeros(len(labels)))
    assert not zeros and "floors are" in str(zeros)
    # counting the anchor itself among its positives: log |class| instead of log |P(i)|
    assert not labs.check_floors(lambda labels: loop_floors(torch.cat([labels, labels])).reshape(2, -1)[0])
    # a floor of 0 for the anchors without a positive: one value too many
    assert not labs.check_floors(
        lambda labels: torch.tensor([math.log(max(int((labels == y).sum()) - 1, 1)) for y in labels])
    )

    def my_floors(labels):
        raise NotImplementedError("your code here")

    stub = labs.check_floors(my_floors)
    assert not stub and "not written yet" in str(stub)
    assert not labs.check_floors(lambda labels: "log 5")


def two_triangles(spread_degrees=20.0, second_pole=-1.0):
    """Three samples of each class on a cone around a pole: each anchor sees both positives at one cosine."""
    tilt = math.radians(spread_degrees)
    points = [
        [
            math.sin(tilt) * math.cos(2 * math.pi * k / 3),
            math.sin(tilt) * math.sin(2 * math.pi * k / 3),
            pole * math.cos(tilt),
        ]
        for pole in (1.0, second_pole)
        for k in range(3)
    ]
    return torch.tensor(points, dtype=torch.float64), torch.tensor([0, 0, 0, 1, 1, 1])


def test_check_no_collapse():
    assert labs.check_no_collapse(two_triangles)
    assert labs.check_no_collapse(lambda: (two_triangles()[0], [3, 3, 3, 7, 7, 7]))  # any two labels
    collapsed = labs.check_no_collapse(lambda: two_triangles(spread_degrees=1.0))
    assert not collapsed and "collapse" in str(collapsed)
    # the classes too close to each other: the negatives still hold softmax mass
    near = labs.check_no_collapse(lambda: two_triangles(second_pole=0.3))
    assert not near and "above its floor" in str(near)
    # unequal cosines to the two positives: above the floor although nothing collapses
    squashed = lambda: (two_triangles()[0] * torch.tensor([1.0, 0.3, 1.0], dtype=torch.float64), two_triangles()[1])  # noqa: E731
    assert not labs.check_no_collapse(squashed)
    assert not labs.check_no_collapse(lambda: (two_triangles()[0][:4], torch.tensor([0, 0, 1, 1])))

    def my_batch():
        raise NotImplementedError("your code here")

    stub = labs.check_no_collapse(my_batch)
    assert not stub and "not written yet" in str(stub)
    assert not labs.check_no_collapse(lambda: None)


def formula_pull_dominates(embeddings, labels, centers, temperature=0.1, margin=0.2, pull_weight=1.0):
    """Per sample: is the gradient of λ‖z − ĉ_y‖² larger on the sphere than that of the margin softmax?
    (autograd through the formula written out, one sample at a time; nothing shared with vgteach)"""
    out = []
    c = centers / centers.norm(dim=1, keepdim=True)
    for e, y in zip(embeddings, labels.tolist()):
        e = e.clone().requires_grad_(True)
        z = e / e.norm()
        logits = (c @ z - margin * F.one_hot(torch.tensor(y), len(c)).double()) / temperature
        softmax_part = torch.logsumexp(logits, dim=0) - logits[y]
        pull_part = pull_weight * (z - c[y]).pow(2).sum()
        (g_softmax,) = torch.autograd.grad(softmax_part, e, retain_graph=True)
        (g_pull,) = torch.autograd.grad(pull_part, e)
        out.append(bool(g_pull.norm() > g_softmax.norm()))
    return torch.tensor(out)


def test_check_pull_dominates():
    torch.manual_seed(0)
    loss_fn = labs.build_loss("ccl", num_classes=4, embedding_dim=16)
    generator = torch.Generator().manual_seed(1)
    labels = torch.arange(4).repeat_interleave(6)
    centers = F.normalize(loss_fn.centers.detach(), dim=1)
    # half the samples next to their own center (the pull should win there), half anywhere
    embeddings = torch.randn(len(labels), 16, generator=generator)
    embeddings[::2] = 4 * centers[labels[::2]] + 0.3 * embeddings[::2]
    expected = formula_pull_dominates(embeddings.double(), labels, loss_fn.centers.detach().double())
    assert expected.any() and not expected.all()  # the batch tells a right answer from a constant one
    softmax_part, pull_part = labs.ccl_gradient_parts(embeddings, labels, loss_fn)
    assert torch.equal(pull_part.norm(dim=1) > softmax_part.norm(dim=1), expected)

    right = labs.check_pull_dominates(formula_pull_dominates, embeddings, labels, loss_fn)
    assert right and f"dominates for {int(expected.sum())} of them" in str(right)
    for wrong in (
        lambda *a, **k: torch.ones(len(labels), dtype=torch.bool),
        lambda *a, **k: ~formula_pull_dominates(*a, **k),
    ):
        result = labs.check_pull_dominates(wrong, embeddings, labels, loss_fn)
        assert not result and "disagree with autograd" in str(result)
    # the hyper-parameters of the trained loss reach the student's function
    other = labs.build_loss("ccl", num_classes=4, embedding_dim=16, temperature=0.5, pull_weight=0.1)
    with torch.no_grad():
        other.centers.copy_(loss_fn.centers)
    assert labs.check_pull_dominates(formula_pull_dominates, embeddings, labels, other)

    def my_pull_dominates(emb, labels, centers, temperature=0.1, margin=0.2, pull_weight=1.0):
        raise NotImplementedError("your code here")

    stub = labs.check_pull_dominates(my_pull_dominates, embeddings, labels, loss_fn)
    assert not stub and "not written yet" in str(stub)
    assert not labs.check_pull_dominates(lambda *a, **k: torch.ones(3, dtype=torch.bool), embeddings, labels, loss_fn)
    assert not labs.check_pull_dominates(lambda *a, **k: None, embeddings, labels, loss_fn)


# ------------------------------------------------------------------------------------------- the kit
def ccl_batch():
    torch.manual_seed(0)
    loss_fn = labs.build_loss("ccl", num_classes=3, embedding_dim=8)
    embeddings = torch.randn(9, 8, generator=torch.Generator().manual_seed(1))
    return embeddings, torch.arange(3).repeat_interleave(3), loss_fn


#: every check that grades a student's function: how to call it with that function
FUNCTION_CHECKS = {
    **{f"check_{name}": check for name, (check, _) in STUDENT_SOLUTIONS.items()},
    "check_squared_distances": labs.check_squared_distances,
    "check_variance": labs.check_variance,
    "check_recall_at_k": labs.check_recall_at_k,
    "check_triplet_active": labs.check_triplet_active,
    "check_grad_norms": labs.check_grad_norms,
    "check_gini": labs.check_gini,
    "check_convergence_epoch": labs.check_convergence_epoch,
    "check_compaction_epoch": labs.check_compaction_epoch,
    "check_floors": labs.check_floors,
    "check_no_collapse": labs.check_no_collapse,
    "check_pushed_positives": labs.check_pushed_positives,
    "check_pull_dominates": lambda fn: labs.check_pull_dominates(fn, *ccl_batch()),
}


def test_every_grader_is_listed_here():
    graders = {name for name in labs.__all__ if name.startswith("check_") and not name.endswith("_prediction")}
    answers = {"check_silent_angle", "check_spearman_by_hand"}  # grade a typed answer, not a function
    assert graders - {"check_loss"} - answers == set(FUNCTION_CHECKS)


@pytest.mark.parametrize("name", list(FUNCTION_CHECKS))
def test_every_check_reports_a_stub_and_an_exception_without_raising(name):
    """One path for the student's errors: an unwritten stub and a crash are graded, never raised."""

    def stub(*args, **kwargs):
        raise NotImplementedError("your code here")

    def crash(*args, **kwargs):
        raise IndexError("index 7 is out of bounds")

    not_written = FUNCTION_CHECKS[name](stub)
    assert isinstance(not_written, labs.CheckResult) and not not_written
    assert str(not_written).startswith("❌") and "not written yet" in str(not_written)
    crashed = FUNCTION_CHECKS[name](crash)
    assert not crashed and "raised IndexError: index 7 is out of bounds" in str(crashed)
    assert crashed.name.startswith(name)


def test_a_check_keeps_its_signature_and_names_its_result_from_its_arguments():
    import inspect

    assert list(inspect.signature(labs.check_recall_at_k).parameters) == ["fn", "k"]
    assert inspect.signature(labs.check_loss).parameters["seed"].default == 0
    assert labs.check_recall_at_k(loop_recall, k=2).name == "check_recall_at_k(k=2)"
    assert labs.check_loss(loop_triplet, "triplet").name == "check_triplet"
    assert "batch-all triplet" in labs.check_triplet.__doc__


def test_a_check_runs_on_fresh_batches_under_another_seed():
    from vgteach.labs.batches import current_seed, seeded

    seen = {}

    def recording(seed):
        def contrastive(embeddings, labels, margin=1.0):
            seen.setdefault(seed, []).append(embeddings.detach().clone())
            return loop_contrastive(embeddings, labels, margin)

        return contrastive

    assert labs.check_contrastive(recording(0)) and current_seed() == 0
    with seeded(7):
        assert current_seed() == 7
        assert labs.check_contrastive(recording(7))
        assert labs.check_gini(sorted_gini) and labs.check_floors(loop_floors)
        assert labs.check_variance(loop_variance) and labs.check_squared_distances(lambda z: torch.cdist(z, z) ** 2)
    assert current_seed() == 0
    assert [x.shape for x in seen[0]] == [x.shape for x in seen[7]]  # the same shapes and labels ...
    assert not any(torch.equal(a, b) for a, b in zip(seen[0], seen[7]))  # ... on new embeddings
    with pytest.raises(TypeError, match="seed must be an int"):
        with seeded(1.5):
            pass


# ------------------------------------------------------------------------------------ labs in a course
LAB1_CHECKS = ("check_squared_distances", "check_contrastive", "check_triplet", "check_infonce", "check_supcon")


def constant_loss(embeddings, labels, margin=1.0):
    return embeddings.sum() * 0 + 1.0


def unnormalised_contrastive(embeddings, labels, margin=1.0):
    """Right on unit-length embeddings only: the normalisation is missing."""
    i, j = torch.triu_indices(len(labels), len(labels), 1)
    d2 = (embeddings[i] - embeddings[j]).pow(2).sum(dim=1)
    same = labels[i] == labels[j]
    push = (margin - d2[~same].clamp_min(1e-12).sqrt()).clamp_min(0) ** 2
    return 0.5 * d2[same].mean() + 0.5 * push.mean()


def test_hints_on_request_replace_the_formula_by_a_pointer_and_keep_the_diagnosis():
    from vgteach.labs import hints
    from vgteach.labs.kit import hints_on_request

    assert labs.LOSS_HINTS["contrastive"] in str(labs.check_contrastive(constant_loss))
    hints("lab1_losses")
    try:
        after = labs.check_contrastive(constant_loss)
        assert labs.LOSS_HINTS["contrastive"] not in str(after) and "Stuck? Run hint(2) for a hint." in str(after)
        diagnosed = labs.check_contrastive(unnormalised_contrastive)
        assert "normalise first" in str(diagnosed) and "hint(2)" in str(diagnosed)
        assert "hint(" not in str(labs.check_npair(lambda e, y, scale=1.0: e.sum() * 0 + 1.0))  # not a Lab 1 check
    finally:
        hints_on_request(dict.fromkeys(LAB1_CHECKS))
    assert labs.LOSS_HINTS["contrastive"] in str(labs.check_contrastive(constant_loss))


def test_hint_prints_the_hint_of_an_exercise(capsys):
    from vgteach.labs import hints

    hint = hints("lab2_diagnostics")
    try:
        hint(5)
        assert capsys.readouterr().out.startswith("Hint for Exercise 5 (The Gini coefficient): sort the values")
        with pytest.raises(ValueError, match="exercises 1 to 6"):
            hint(7)
        with pytest.raises(TypeError):
            hint("5")
    finally:
        from vgteach.labs.kit import hints_on_request

        hints_on_request(
            {
                name: None
                for name in (
                    "check_variance",
                    "check_recall_at_k",
                    "check_triplet_active",
                    "check_grad_norms",
                    "check_gini",
                )
            }
        )


def test_around_student_code_wraps_every_call_into_student_code():
    import contextlib

    from vgteach.labs.kit import around_student_code

    entered = []

    @contextlib.contextmanager
    def watch():
        entered.append(1)
        yield

    with around_student_code(watch):
        assert labs.check_gini(sorted_gini)
    assert len(entered) == 4  # once per input of check_gini
    assert labs.check_gini(sorted_gini) and len(entered) == 4
    with pytest.raises(TypeError):
        with around_student_code(None):
            pass


def test_the_lab_exercises_name_existing_checks_and_forbidden_code():
    from vgteach.labs.exercises import LABS
    from vgteach.labs.watch import resolve

    for lab in LABS.values():
        for exercise in lab.exercises:
            assert exercise.points > 0 and exercise.minutes > 0 and exercise.hint
            for test in exercise.tests:
                assert callable(getattr(labs, test.check)) and test.function.startswith("my_")
            files, codes = resolve(exercise.forbidden)
            assert files or codes or not exercise.tests


@pytest.mark.slow
def test_expected_numbers_are_what_the_labs_cells_print():
    """vgteach lab expected's numbers in the smoke profile (three short trainings): Lab 2's measurements are
    the run's own history, Lab 3's study rows its summaries, the knob's default margin is the study's run."""
    from vgteach.labs import expected

    numbers = expected.expected_numbers("smoke", losses=("contrastive", "triplet"), margins=(0.05, 0.2))
    assert [row["loss"] for row in numbers["lab2_runs"]] == ["contrastive", "triplet"]
    for row in numbers["lab2_runs"]:
        assert row["ratio"] == pytest.approx(row["history_ratio"], rel=1e-5)
        assert row["recall@1"] == pytest.approx(row["history_recall@1"])
        assert 0 <= row["active_triplets"] <= 1 and 0 <= row["gini"] < 1
    study = {row["loss"]: row for row in numbers["lab3_study"]}
    assert set(study["triplet"]) == {"loss", *expected.STUDY_COLUMNS}
    default = next(row for row in numbers["lab3_knob"] if row["margin"] == expected.TRIPLET_MARGIN)
    assert default["recall@1"] == study["triplet"]["recall@1"] and default["intra"] == study["triplet"]["intra"]
    assert set(numbers["cpu_seconds"]) == {"lab2_diagnostics", "lab3_tradeoff"}
    text = expected.expected_block(numbers)
    assert f"| triplet | {study['triplet']['recall@1']:.3f} |" in text and "`smoke` profile" in text
    with pytest.raises(ValueError, match="Lab 2's runs"):
        expected.expected_numbers("smoke", losses=("infonce",))
    with pytest.raises(ValueError, match="positive number"):
        expected.expected_numbers("smoke", margins=(0.2, -1))
