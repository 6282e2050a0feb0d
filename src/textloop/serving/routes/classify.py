"""``POST /v1/classifiers/{name}/classify``: one text or a batch, every prediction stored."""

from fastapi import APIRouter

from textloop.serving.deps import ClassifyKey, RuntimeDep, SessionDep
from textloop.serving.inference import classify
from textloop.serving.schemas import BatchPredictionPublic, ClassifyCreate, PredictionPublic

router = APIRouter(tags=["classify"])


@router.post(
    "/v1/classifiers/{name}/classify",
    response_model=PredictionPublic | BatchPredictionPublic,
    summary="Classify one text or a batch of texts",
)
def classify_texts(
    name: str, body: ClassifyCreate, runtime: RuntimeDep, session: SessionDep, _key: ClassifyKey
) -> PredictionPublic | BatchPredictionPublic:
    texts = [body.text] if body.text is not None else list(body.texts or [])
    results = classify(session, runtime.models, name, texts)
    shadow = runtime.shadow.shadow_of(session, name)
    session.commit()
    if shadow is not None:
        ids, labels = [r.prediction_id for r in results], [r.label for r in results]
        runtime.shadow.submit(shadow, texts, ids, labels)
    predictions = [PredictionPublic(**result.__dict__) for result in results]
    if body.text is not None:
        return predictions[0]
    return BatchPredictionPublic(predictions=predictions)
