/* A C extension: sum of squares below n, the hot loop of the service. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *sum_squares(PyObject *self, PyObject *args) {
    long long n, total = 0;
    if (!PyArg_ParseTuple(args, "L", &n)) return NULL;
    for (long long i = 0; i < n; i++) total += i * i;
    return PyLong_FromLongLong(total);
}

static PyMethodDef methods[] = {
    {"sum_squares", sum_squares, METH_VARARGS, "Sum of i*i for i < n."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fastsum", NULL, -1, methods};

PyMODINIT_FUNC PyInit_fastsum(void) { return PyModule_Create(&module); }
