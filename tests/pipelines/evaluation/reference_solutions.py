"""Reference solutions of data/01_raw/eval_problems_es.jsonl: they prove every problem's tests
can pass. Kept here, never in the data the model sees."""

SOLUTIONS = {
    "es_001": "def invertir_cadena(texto):\n    return texto[::-1]\n",
    "es_002": (
        "def es_palindromo(texto):\n"
        "    limpio = texto.replace(' ', '').lower()\n"
        "    return limpio == limpio[::-1]\n"
    ),
    "es_003": (
        "def contar_vocales(texto):\n"
        "    return sum(1 for c in texto.lower() if c in 'aeiouáéíóúü')\n"
    ),
    "es_004": (
        "def factorial(n):\n"
        "    resultado = 1\n"
        "    for i in range(2, n + 1):\n"
        "        resultado *= i\n"
        "    return resultado\n"
    ),
    "es_005": (
        "def fibonacci(n):\n"
        "    a, b = 0, 1\n"
        "    for _ in range(n):\n"
        "        a, b = b, a + b\n"
        "    return a\n"
    ),
    "es_006": (
        "def es_primo(n):\n"
        "    if n < 2:\n"
        "        return False\n"
        "    return all(n % d for d in range(2, int(n ** 0.5) + 1))\n"
    ),
    "es_007": (
        "def maximo_lista(numeros):\n"
        "    mayor = None\n"
        "    for n in numeros:\n"
        "        if mayor is None or n > mayor:\n"
        "            mayor = n\n"
        "    return mayor\n"
    ),
    "es_008": "def suma_pares(numeros):\n    return sum(n for n in numeros if n % 2 == 0)\n",
    "es_009": (
        "def contar_palabras(texto):\n"
        "    cuentas = {}\n"
        "    for palabra in texto.lower().split():\n"
        "        cuentas[palabra] = cuentas.get(palabra, 0) + 1\n"
        "    return cuentas\n"
    ),
    "es_010": "def eliminar_duplicados(elementos):\n    return list(dict.fromkeys(elementos))\n",
    "es_011": "def celsius_a_fahrenheit(grados):\n    return grados * 9 / 5 + 32\n",
    "es_012": ("def mcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n"),
    "es_013": "def aplanar(listas):\n    return [x for sub in listas for x in sub]\n",
    "es_014": "def es_anagrama(a, b):\n    return sorted(a.lower()) == sorted(b.lower())\n",
    "es_015": (
        "def capitalizar_palabras(texto):\n"
        "    return ' '.join(p.capitalize() for p in texto.split(' '))\n"
    ),
    "es_016": (
        "def segundo_mayor(numeros):\n"
        "    distintos = sorted(set(numeros), reverse=True)\n"
        "    return distintos[1] if len(distintos) > 1 else None\n"
    ),
    "es_017": (
        "def rotar_lista(elementos, k):\n"
        "    if not elementos:\n"
        "        return []\n"
        "    k %= len(elementos)\n"
        "    return elementos[-k:] + elementos[:-k] if k else list(elementos)\n"
    ),
    "es_018": "def binario_a_decimal(binario):\n    return int(binario, 2)\n",
    "es_019": (
        "def agrupar_por_longitud(palabras):\n"
        "    grupos = {}\n"
        "    for palabra in palabras:\n"
        "        grupos.setdefault(len(palabra), []).append(palabra)\n"
        "    return grupos\n"
    ),
    "es_020": (
        "def fizzbuzz(n):\n"
        "    salida = []\n"
        "    for i in range(1, n + 1):\n"
        "        texto = ('Fizz' if i % 3 == 0 else '') + ('Buzz' if i % 5 == 0 else '')\n"
        "        salida.append(texto or str(i))\n"
        "    return salida\n"
    ),
    "es_021": (
        "def media(numeros):\n"
        "    if not numeros:\n"
        "        raise ValueError('lista vacía')\n"
        "    return sum(numeros) / len(numeros)\n"
    ),
    "es_022": (
        "from itertools import groupby\n\n"
        "def comprimir_cadena(texto):\n"
        "    return ''.join(f'{c}{len(list(g))}' for c, g in groupby(texto))\n"
    ),
}
