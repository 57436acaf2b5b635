# expect: clean
# Wrapped models (DataParallel of a name, torch.compile), plain classes called in loops over
# test-like names, module iteration, and optimizer steps driven by hooks (no loss in the loop).
import torch
from torch import nn

net = nn.Linear(4, 2)
model = nn.DataParallel(net)
compiled = torch.compile(model)
optimizers = [torch.optim.SGD(net.parameters(), lr=0.1)]


class ExprBuilder:
    def __call__(self, node):
        return node


build_expr = ExprBuilder()


def evaluate_expressions(test_cases):
    return [build_expr(case) for case in test_cases]


def run_tests(test_cases):
    results = []
    for case in test_cases:
        results.append(build_expr(case))
    return results


for module in net.modules():
    print(module)


def apply_in_backward_hook():
    for opt in optimizers:
        opt.step()
        opt.zero_grad()
