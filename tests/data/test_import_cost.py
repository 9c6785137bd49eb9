"""Every command imports the data package; torchvision (which pulls in torch._dynamo, seconds of
start-up) must wait for the first image of an image folder."""

from __future__ import annotations

import subprocess
import sys


def test_the_data_package_and_a_dry_run_do_not_import_torchvision():
    code = (
        "import sys\n"
        "from improved_gan.cli.main import main\n"
        "assert main(['train', 'mnist-fm', '--dataset', 'mnist5k', '--dry-run']) == 0\n"
        "assert 'torchvision' not in sys.modules, 'torchvision was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
