import json, re, os, sys, collections
from datetime import datetime
p = '/work/main/service/data/sample-listings.json'
img = '/work/main/service/data/images'
d = json.load(open(p, encoding='utf-8'))
L = d['listings']
assert list(d.keys()) == ['listings']
ids = [l['id'] for l in L]
assert len(ids) == len(set(ids)), 'dup ids'
assert ids == sorted(ids), 'not sorted'
rx = re.compile(r'^[A-Za-z0-9_-]{1,64}$')
keys = ["id","title","price_usd","currency","cpu_name","cpu_mark","ram_gb","storage_gb","storage_type","condition","seller","image_url","updated_at"]
used = collections.Counter()
ratios = []
for l in L:
    assert list(l.keys()) == keys, l['id']
    assert rx.match(l['id']), l['id']
    assert isinstance(l['title'], str) and l['title'], l['id']
    pr = l['price_usd']; assert pr is None or (isinstance(pr,(int,float)) and not isinstance(pr,bool) and pr > 0), l['id']
    assert l['currency'] == 'USD'
    assert l['cpu_name'] is None or isinstance(l['cpu_name'], str)
    for k in ('cpu_mark','ram_gb','storage_gb'):
        assert l[k] is None or (type(l[k]) is int and l[k] > 0), (l['id'], k)
    assert l['storage_type'] in (None, "NVMe SSD", "SATA SSD", "HDD", "eMMC"), l['id']
    assert l['condition'] in (None, "new", "refurbished", "used"), l['id']
    assert l['seller'] is None or isinstance(l['seller'], str)
    iu = l['image_url']
    if iu is not None:
        assert iu.startswith('sample:'), l['id']
        f = iu[len('sample:'):]
        assert '/' not in f and os.path.isfile(os.path.join(img, f)), iu
        used[f] += 1
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', l['updated_at']), l['id']
    datetime.strptime(l['updated_at'], '%Y-%m-%dT%H:%M:%SZ')
    assert 'cpu_mark_per_dollar' not in l
    if pr and l['cpu_mark'] and l['id'].startswith('dl-'):
        ratios.append((l['cpu_mark']/pr, l['id'], l['title'][:60], pr))
n = len(L)
wi = sum(1 for l in L if l['image_url'])
print('listings', n, 'with image', wi, f'({wi/n:.0%})', 'null price', sum(l['price_usd'] is None for l in L),
      'null cpu_mark', sum(l['cpu_mark'] is None for l in L), 'null cpu_name', sum(l['cpu_name'] is None for l in L))
print('images used', dict(used))
print('unused images', [f for f in os.listdir(img) if os.path.isfile(os.path.join(img,f)) and f not in used and f != 'README.md'])
ratios.sort()
print('ratio min', ratios[:3]); print('ratio max', ratios[-3:])
print('prices', min(l['price_usd'] for l in L if l['price_usd']), max(l['price_usd'] for l in L if l['price_usd']))
print('conditions', collections.Counter(l['condition'] for l in L))
print('sellers', collections.Counter(l['seller'] for l in L).most_common())
print('storage', collections.Counter(l['storage_type'] for l in L))
print('max title', max(len(l['title']) for l in L), 'max id', max(len(l['id']) for l in L))
print('edge ids', [i for i in ids if not re.match(r'^dl-\d{4}$', i)])
print('OK')
