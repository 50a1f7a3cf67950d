"""Training protocols: `run_experiment` and the `Experiment` of each model family."""

from tfrec.training.config_error import ConfigError
from tfrec.training.experiment import Experiment, TrainingDiverged, run_experiment
from tfrec.training.heldout_users_experiment import HeldOutUsersExperiment
from tfrec.training.leave_one_out_experiment import LeaveOneOutExperiment
from tfrec.training.lrurec_experiment import LRURecExperiment
from tfrec.training.next_item_experiment import NextItemExperiment
from tfrec.training.resumable_early_stopping import ResumableEarlyStopping
from tfrec.training.training_config import TrainingConfig
from tfrec.training.validation_callback import ValidationCallback

__all__ = [
    "ConfigError",
    "Experiment",
    "HeldOutUsersExperiment",
    "LRURecExperiment",
    "LeaveOneOutExperiment",
    "NextItemExperiment",
    "ResumableEarlyStopping",
    "TrainingConfig",
    "TrainingDiverged",
    "ValidationCallback",
    "run_experiment",
]
