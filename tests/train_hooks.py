"""Hooks the training tests use to watch a run and to stop it."""

from paddlefcn.engine.trainer import Hook


class RecordLoss(Hook):
    """Keeps every step's loss and the iterations evaluated after."""

    def __init__(self):
        self.losses, self.evaluated = [], []

    def after_step(self, trainer):
        self.losses.append(trainer.outputs.loss)

    def after_eval(self, trainer):
        self.evaluated.append(trainer.last_eval.iter)


class InterruptAt(Hook):
    """Presses Ctrl-C after ``iteration``."""

    def __init__(self, iteration):
        self.iteration = iteration

    def after_step(self, trainer):
        if trainer.iter == self.iteration:
            raise KeyboardInterrupt
