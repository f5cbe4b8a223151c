#!/usr/bin/env python3
"""The layers point one way: runtime, then net, then patterns; nothing lower includes anything
higher (issue 17).

The build enforces it for the sources: each layer is a library compiled with its own include
directory and those of the layers below only (see the root meson.build). This test covers
what the build does not see: every header of a layer (public or internal) is preprocessed
alone with that layer's include directories, so a header that no source of its layer
includes cannot reach up unnoticed, and every file a layer's header or source pulls in,
relative paths ("../../x.hpp") included, must lie in that layer or one below it.

usage: layers.py SOURCE_ROOT COMPILER...
"""

import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

# Each layer and the layers it may include, itself first (lowest layer first).
LAYERS = {
    'runtime': ['runtime'],
    'net': ['net', 'runtime'],
    'patterns': ['patterns', 'net', 'runtime'],
}


def include_args(layer):
    return [f'-I{name}/include' for name in LAYERS[layer]]


def layer_files(layer):
    for top in ('include', 'src'):
        for dirpath, _, names in os.walk(os.path.join(layer, top)):
            for name in sorted(names):
                if name.endswith(('.hpp', '.cpp')):
                    yield os.path.join(dirpath, name)


def dependencies(compiler, layer, path):
    """The files `path` includes, directly or not, as the preprocessor finds them with the
    layer's include directories. A header it cannot find comes back as spelled (-MG)."""
    cmd = compiler + ['-std=c++20', '-x', 'c++', '-M', '-MG'] + include_args(layer) + [path]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr
    rule = proc.stdout.replace('\\\n', ' ')
    return rule.split(':', 1)[1].split(), ''


def check(compiler, layer, path):
    deps, err = dependencies(compiler, layer, path)
    if deps is None:
        return [f'{path}: preprocessing with {" ".join(include_args(layer))} failed:\n{err}']
    problems = []
    allowed = [os.path.abspath(name) + os.sep for name in LAYERS[layer]]
    tree = os.path.abspath('.') + os.sep
    for dep in deps[1:]:  # deps[0] is the file itself
        if not os.path.exists(dep):
            # Not found with this layer's include directories: a goro header of a higher
            # layer. (Other missing headers, say a sanitizer's, belong to no layer.)
            if dep.startswith('goro/') or '/goro/' in dep:
                problems.append(f'{path} ({layer}) includes {dep}, which is not in its layer '
                                'or below')
            continue
        full = os.path.abspath(dep)
        if full.startswith(tree) and not any(full.startswith(a) for a in allowed):
            problems.append(f'{path} ({layer}) includes {os.path.relpath(full)}, which is not '
                            'in its layer or below')
    return problems


def main():
    root, compiler = sys.argv[1], sys.argv[2:]
    os.chdir(root)

    # The check itself: with the runtime's include directories, a patterns header and a net
    # header must be out of reach.
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, 'probe.cpp')
        for header in ('goro/context.hpp', 'goro/net.hpp', 'goro/goro.hpp'):
            with open(probe, 'w') as f:
                f.write(f'#include <{header}>\n')
            cmd = compiler + ['-std=c++20', '-x', 'c++', '-E', '-o', os.devnull,
                              *include_args('runtime'), probe]
            if subprocess.run(cmd, capture_output=True).returncode == 0:
                print(f'FAIL: <{header}> is reachable with the runtime\'s include directories')
                return 1

    jobs = [(layer, path) for layer in LAYERS for path in layer_files(layer)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda job: check(compiler, *job), jobs))
    problems = [p for result in results for p in result]
    for p in problems:
        print('FAIL:', p)
    print(f'{len(jobs)} files of {len(LAYERS)} layers checked, {len(problems)} wrong-way '
          'includes')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
