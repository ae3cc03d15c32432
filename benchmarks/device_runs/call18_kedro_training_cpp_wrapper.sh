# GPU call 18 (2026-12-01): `kedro run --pipeline training --env gpu` with conf/gpu now on the aten flash op and
# Inductor's C++ wrapper (random 1B), one epoch: training, evaluation and saving all work with it.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl 2>/dev/null; export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
[ -f /tmp/w/random-llama-3.2-1b/config.json ] || python3 -c "
import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path
import train_throughput as t; t.make_checkpoint('1b', Path('/tmp/w/tokenizer'), Path('/tmp/w/random-llama-3.2-1b'), 'cuda')"
cp -r .gpubench/data/05_model_input/* data/05_model_input/
sed -i "s#^base_model: .*#base_model: /tmp/w/random-llama-3.2-1b#" conf/gpu/globals.yml
timeout 180 python3 -m kedro run --pipeline training --env gpu --params "tracking.enabled=false" > /tmp/w/logs/kedro_gpu.log 2>&1; echo "kedro rc $?"
grep -v "it/s\]\|s/it\]" /tmp/w/logs/kedro_gpu.log | tail -40 | tee $OUT/kedro_tail.txt
cp data/08_reporting/training_metrics.json/*/training_metrics.json /tmp/w/logs/ 2>/dev/null
ls -R data/06_models | head -20
tar czf $OUT/kedro.tgz -C /tmp/w logs
