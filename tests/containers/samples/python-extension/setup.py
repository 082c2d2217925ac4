from setuptools import Extension, setup

setup(
    name="fastsum",
    version="1.0",
    py_modules=["server"],
    ext_modules=[Extension("fastsum", ["fastsum/fastsum.c"])],
)
