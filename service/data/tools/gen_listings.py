#!/usr/bin/env python3
"""Generate service/data/sample-listings.json (deterministic)."""
import json
import random
import re
import sys
from datetime import datetime, timedelta, timezone

OUT = sys.argv[1] if len(sys.argv) > 1 else "sample-listings.json"
rng = random.Random(20261120)

# key: (cpu_name, passmark multi-thread, short label used in titles, default RAM type)
CPUS = {
    "n4020": ("Intel Celeron N4020", 1610, "Celeron N4020", "DDR4"),
    "n4120": ("Intel Celeron N4120", 2590, "Celeron N4120", "LPDDR4"),
    "n4500": ("Intel Celeron N4500", 2010, "Celeron N4500", "DDR4"),
    "j4125": ("Intel Celeron J4125", 2990, "Celeron J4125", "DDR4"),
    "n5105": ("Intel Celeron N5105", 4010, "Celeron N5105", "DDR4"),
    "n95": ("Intel Processor N95", 5400, "N95", "DDR4"),
    "n100": ("Intel Processor N100", 5500, "N100", "DDR5"),
    "n97": ("Intel Processor N97", 5850, "N97", "DDR5"),
    "n200": ("Intel Processor N200", 5340, "N200", "LPDDR5"),
    "i3n305": ("Intel Core i3-N305", 10040, "Core i3-N305", "DDR5"),
    "i7-4790": ("Intel Core i7-4790", 7190, "i7-4790", "DDR3"),
    "i5-6500": ("Intel Core i5-6500", 5640, "i5-6500", "DDR4"),
    "i5-6500t": ("Intel Core i5-6500T", 5020, "i5-6500T", "DDR4"),
    "i5-7500": ("Intel Core i5-7500", 6300, "i5-7500", "DDR4"),
    "i7-7700": ("Intel Core i7-7700", 8610, "i7-7700", "DDR4"),
    "i5-8350u": ("Intel Core i5-8350U", 6290, "i5-8350U", "DDR4"),
    "i7-8665u": ("Intel Core i7-8665U", 6880, "i7-8665U", "DDR4"),
    "i5-8259u": ("Intel Core i5-8259U", 8010, "i5-8259U", "DDR4"),
    "i5-8500": ("Intel Core i5-8500", 9590, "i5-8500", "DDR4"),
    "i5-8500t": ("Intel Core i5-8500T", 9300, "i5-8500T", "DDR4"),
    "i7-8700": ("Intel Core i7-8700", 13010, "i7-8700", "DDR4"),
    "i7-8700t": ("Intel Core i7-8700T", 11020, "i7-8700T", "DDR4"),
    "i5-9500t": ("Intel Core i5-9500T", 8720, "i5-9500T", "DDR4"),
    "i7-9700": ("Intel Core i7-9700", 13720, "i7-9700", "DDR4"),
    "i7-9700t": ("Intel Core i7-9700T", 11240, "i7-9700T", "DDR4"),
    "i5-10500t": ("Intel Core i5-10500T", 11700, "i5-10500T", "DDR4"),
    "i7-10700": ("Intel Core i7-10700", 17240, "i7-10700", "DDR4"),
    "i7-10700t": ("Intel Core i7-10700T", 14060, "i7-10700T", "DDR4"),
    "i5-11400t": ("Intel Core i5-11400T", 13900, "i5-11400T", "DDR4"),
    "i5-1135g7": ("Intel Core i5-1135G7", 10190, "i5-1135G7", "DDR4"),
    "i5-1145g7": ("Intel Core i5-1145G7", 10040, "i5-1145G7", "DDR4"),
    "i7-1165g7": ("Intel Core i7-1165G7", 10480, "i7-1165G7", "LPDDR4x"),
    "i5-1230u": ("Intel Core i5-1230U", 10800, "i5-1230U", "LPDDR4x"),
    "i5-1235u": ("Intel Core i5-1235U", 13500, "i5-1235U", "DDR4"),
    "i7-1265u": ("Intel Core i7-1265U", 13640, "i7-1265U", "DDR4"),
    "i5-1335u": ("Intel Core i5-1335U", 13820, "i5-1335U", "LPDDR4x"),
    "i7-1355u": ("Intel Core i7-1355U", 15310, "i7-1355U", "LPDDR5"),
    "i5-1240p": ("Intel Core i5-1240P", 17050, "i5-1240P", "DDR4"),
    "i7-1260p": ("Intel Core i7-1260P", 17320, "i7-1260P", "DDR4"),
    "i5-12400": ("Intel Core i5-12400", 19500, "i5-12400", "DDR4"),
    "i5-12450h": ("Intel Core i5-12450H", 16620, "i5-12450H", "DDR4"),
    "i5-12500": ("Intel Core i5-12500", 20050, "i5-12500", "DDR4"),
    "i5-12500t": ("Intel Core i5-12500T", 17850, "i5-12500T", "DDR4"),
    "i5-12500h": ("Intel Core i5-12500H", 21480, "i5-12500H", "DDR4"),
    "i7-12700": ("Intel Core i7-12700", 31010, "i7-12700", "DDR5"),
    "i7-12700t": ("Intel Core i7-12700T", 24720, "i7-12700T", "DDR5"),
    "i7-12700h": ("Intel Core i7-12700H", 26800, "i7-12700H", "DDR4"),
    "i5-13400": ("Intel Core i5-13400", 25480, "i5-13400", "DDR4"),
    "i5-13400f": ("Intel Core i5-13400F", 25390, "i5-13400F", "DDR5"),
    "i5-13420h": ("Intel Core i5-13420H", 19960, "i5-13420H", "DDR5"),
    "i5-13500": ("Intel Core i5-13500", 32070, "i5-13500", "DDR5"),
    "i7-13620h": ("Intel Core i7-13620H", 24980, "i7-13620H", "DDR5"),
    "i7-13650hx": ("Intel Core i7-13650HX", 32810, "i7-13650HX", "DDR5"),
    "i9-13900h": ("Intel Core i9-13900H", 29600, "i9-13900H", "DDR5"),
    "i9-13980hx": ("Intel Core i9-13980HX", 46600, "i9-13980HX", "DDR5"),
    "i9-13900k": ("Intel Core i9-13900K", 59100, "i9-13900K", "DDR5"),
    "i5-14400": ("Intel Core i5-14400", 25900, "i5-14400", "DDR5"),
    "i7-14700": ("Intel Core i7-14700", 49200, "i7-14700", "DDR5"),
    "i9-14900kf": ("Intel Core i9-14900KF", 60400, "i9-14900KF", "DDR5"),
    "i9-14900hx": ("Intel Core i9-14900HX", 47400, "i9-14900HX", "DDR5"),
    "u5-125h": ("Intel Core Ultra 5 125H", 21600, "Core Ultra 5 125H", "DDR5"),
    "u7-155h": ("Intel Core Ultra 7 155H", 25100, "Core Ultra 7 155H", "LPDDR5x"),
    "e3-1240v5": ("Intel Xeon E3-1240 v5", 8200, "Xeon E3-1240 v5", "DDR4"),
    "e-2224": ("Intel Xeon E-2224", 7760, "Xeon E-2224", "DDR4"),
    "e-2176g": ("Intel Xeon E-2176G", 13420, "Xeon E-2176G", "DDR4"),
    "e5-2680v4": ("Intel Xeon E5-2680 v4", 17480, "Xeon E5-2680 v4", "DDR4"),
    "e5-2690v3": ("Intel Xeon E5-2690 v3", 15870, "Xeon E5-2690 v3", "DDR4"),
    "w-2135": ("Intel Xeon W-2135", 12900, "Xeon W-2135", "DDR4"),
    "w-2145": ("Intel Xeon W-2145", 15780, "Xeon W-2145", "DDR4"),
    "athlon3050u": ("AMD Athlon Silver 3050U", 2310, "Athlon Silver 3050U", "DDR4"),
    "r5-2400ge": ("AMD Ryzen 5 PRO 2400GE", 7620, "Ryzen 5 PRO 2400GE", "DDR4"),
    "r5-3400g": ("AMD Ryzen 5 3400G", 9420, "Ryzen 5 3400G", "DDR4"),
    "r5-4650ge": ("AMD Ryzen 5 PRO 4650GE", 15580, "Ryzen 5 PRO 4650GE", "DDR4"),
    "r7-4750u": ("AMD Ryzen 7 PRO 4750U", 14210, "Ryzen 7 PRO 4750U", "DDR4"),
    "r5-5500u": ("AMD Ryzen 5 5500U", 13040, "Ryzen 5 5500U", "DDR4"),
    "r5-5560u": ("AMD Ryzen 5 5560U", 12480, "Ryzen 5 5560U", "DDR4"),
    "r5-5600u": ("AMD Ryzen 5 5600U", 13920, "Ryzen 5 5600U", "DDR4"),
    "r5-5600g": ("AMD Ryzen 5 5600G", 19800, "Ryzen 5 5600G", "DDR4"),
    "r5-5600": ("AMD Ryzen 5 5600", 21500, "Ryzen 5 5600", "DDR4"),
    "r5-6600h": ("AMD Ryzen 5 6600H", 20070, "Ryzen 5 6600H", "DDR5"),
    "r5-7520u": ("AMD Ryzen 5 7520U", 9640, "Ryzen 5 7520U", "LPDDR5"),
    "r5-7530u": ("AMD Ryzen 5 7530U", 15320, "Ryzen 5 7530U", "DDR4"),
    "r5-7600": ("AMD Ryzen 5 7600", 27030, "Ryzen 5 7600", "DDR5"),
    "r7-5700u": ("AMD Ryzen 7 5700U", 16000, "Ryzen 7 5700U", "DDR4"),
    "r7-5800h": ("AMD Ryzen 7 5800H", 21130, "Ryzen 7 5800H", "DDR4"),
    "r7-5700x": ("AMD Ryzen 7 5700X", 26560, "Ryzen 7 5700X", "DDR4"),
    "r7-6800h": ("AMD Ryzen 7 6800H", 23610, "Ryzen 7 6800H", "DDR5"),
    "r7-7735hs": ("AMD Ryzen 7 7735HS", 24530, "Ryzen 7 7735HS", "DDR5"),
    "r7-7840hs": ("AMD Ryzen 7 7840HS", 29000, "Ryzen 7 7840HS", "DDR5"),
    "r7-7840u": ("AMD Ryzen 7 7840U", 25080, "Ryzen 7 7840U", "LPDDR5x"),
    "r7-8845hs": ("AMD Ryzen 7 8845HS", 29540, "Ryzen 7 8845HS", "DDR5"),
    "r7-7700": ("AMD Ryzen 7 7700", 34520, "Ryzen 7 7700", "DDR5"),
    "r7-7800x3d": ("AMD Ryzen 7 7800X3D", 34430, "Ryzen 7 7800X3D", "DDR5"),
    "r9-6900hx": ("AMD Ryzen 9 6900HX", 24810, "Ryzen 9 6900HX", "DDR5"),
    "r9-7940hs": ("AMD Ryzen 9 7940HS", 30400, "Ryzen 9 7940HS", "DDR5"),
    "r9-8945hs": ("AMD Ryzen 9 8945HS", 30550, "Ryzen 9 8945HS", "LPDDR5x"),
    "r9-5900x": ("AMD Ryzen 9 5900X", 39000, "Ryzen 9 5900X", "DDR4"),
    "r9-7945hx": ("AMD Ryzen 9 7945HX", 55200, "Ryzen 9 7945HX", "DDR5"),
    "r9-7950x": ("AMD Ryzen 9 7950X", 62900, "Ryzen 9 7950X", "DDR5"),
}

NEW_SHOPS = ["Amazon", "Newegg", "Walmart", "Best Buy", "Micro Center", "B&H"]
CHINA_SHOPS = ["Amazon", "Amazon", "AliExpress", "Newegg", "Walmart"]
REFURB_SHOPS = ["eBay", "eBay", "Amazon", "Newegg", "Walmart"]

# form, name, cpu, configs [(ram, storage_gb, storage_type)], (price_lo, price_hi), conditions, sellers
T = []


def add(form, name, cpu, configs, price, conds, sellers, image=None, extra=None, n=2):
    T.append(dict(form=form, name=name, cpu=cpu, configs=configs, price=price, conds=conds, sellers=sellers,
                  image=image, extra=extra or {}, n=n))


# ---- mini PCs (new)
add("mini", "Beelink Mini S12 Pro", "n100", [(16, 500, "NVMe SSD")], (139, 179), ["new"], CHINA_SHOPS, "mini-pc-silver", n=3)
add("mini", "Beelink EQ12", "n100", [(16, 500, "NVMe SSD")], (169, 199), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "Beelink SER5", "r5-5560u", [(16, 500, "NVMe SSD")], (199, 239), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "Beelink SER5 Max", "r7-5800h", [(32, 500, "NVMe SSD"), (16, 500, "NVMe SSD")], (259, 329), ["new"], CHINA_SHOPS, "mini-pc-dark", n=3)
add("mini", "Beelink SER7", "r7-7840hs", [(32, 1000, "NVMe SSD")], (449, 539), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "Beelink SER8", "r7-8845hs", [(32, 1000, "NVMe SSD")], (499, 599), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "Beelink EQR6", "r9-6900hx", [(24, 500, "NVMe SSD")], (369, 419), ["new"], CHINA_SHOPS, "mini-pc-silver")
add("mini", "MINISFORUM UM790 Pro", "r9-7940hs", [(32, 1000, "NVMe SSD"), (64, 1000, "NVMe SSD")], (529, 649), ["new"], CHINA_SHOPS, "mini-pc-silver", n=3)
add("mini", "MINISFORUM UM690S", "r9-6900hx", [(32, 1000, "NVMe SSD")], (379, 449), ["new"], CHINA_SHOPS, "mini-pc-silver")
add("mini", "MINISFORUM UM780 XTX", "r7-7840hs", [(32, 1000, "NVMe SSD")], (479, 559), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "MINISFORUM MS-01", "i9-13900h", [(32, 1000, "NVMe SSD")], (679, 829), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "MINISFORUM UN100P", "n100", [(16, 256, "NVMe SSD")], (159, 189), ["new"], CHINA_SHOPS, "mini-pc-silver")
add("mini", "GMKtec NucBox G3", "n100", [(8, 256, "NVMe SSD"), (16, 512, "NVMe SSD")], (119, 159), ["new"], CHINA_SHOPS, "mini-pc-silver", n=3)
add("mini", "GMKtec NucBox M5", "r7-5700u", [(16, 512, "NVMe SSD")], (229, 269), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "GMKtec NucBox M6", "r5-6600h", [(16, 512, "NVMe SSD"), (32, 1000, "NVMe SSD")], (269, 339), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "GMKtec NucBox K8", "r7-8845hs", [(32, 1000, "NVMe SSD")], (479, 549), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "GMKtec NucBox G5", "n97", [(12, 256, "eMMC")], (139, 169), ["new"], CHINA_SHOPS, "mini-pc-silver")
add("mini", "Trigkey Green G4", "n100", [(16, 500, "NVMe SSD")], (139, 169), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "Trigkey Speed S5", "r5-5500u", [(16, 500, "NVMe SSD")], (199, 239), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "ACEMAGIC S1", "n95", [(16, 512, "SATA SSD")], (149, 179), ["new"], CHINA_SHOPS, "mini-pc-dark")
add("mini", "ACEMAGIC AM06 Pro", "r5-5600u", [(16, 512, "NVMe SSD")], (229, 279), ["new"], CHINA_SHOPS, "mini-pc-silver")
add("mini", "GEEKOM A7", "r9-7940hs", [(32, 2000, "NVMe SSD")], (649, 749), ["new"], ["Amazon", "GEEKOM Store", "Newegg"], "mini-pc-silver")
add("mini", "GEEKOM IT13", "i9-13900h", [(32, 2000, "NVMe SSD")], (699, 799), ["new"], ["Amazon", "GEEKOM Store", "Newegg"], "mini-pc-silver")
add("mini", "GEEKOM Mini IT12", "i5-1240p", [(16, 512, "NVMe SSD")], (379, 449), ["new"], ["Amazon", "GEEKOM Store"], "mini-pc-silver")
add("mini", "ASUS NUC 12 Pro", "i7-1260p", [(16, 512, "NVMe SSD")], (479, 549), ["new"], NEW_SHOPS, "mini-pc-dark")
add("mini", "ASUS NUC 14 Pro", "u5-125h", [(16, 512, "NVMe SSD")], (599, 679), ["new"], NEW_SHOPS, "mini-pc-dark")
add("mini", "Intel NUC 8 (NUC8i5BEH)", "i5-8259u", [(8, 256, "NVMe SSD"), (16, 500, "NVMe SSD")], (119, 159), ["used", "refurbished"], REFURB_SHOPS, "mini-pc-silver")
add("mini", "Chuwi LarkBox X", "n100", [(12, 512, "NVMe SSD")], (149, 169), ["new"], CHINA_SHOPS, "mini-pc-dark", n=1)
add("mini", "Kamrui AK1 Plus", "n95", [(16, 512, "SATA SSD")], (139, 159), ["new"], CHINA_SHOPS, None, n=1)
add("mini", "Beelink U59 Pro", "n5105", [(16, 500, "SATA SSD")], (129, 149), ["new"], CHINA_SHOPS, "mini-pc-silver", n=1)
add("mini", "Beelink T4 Pro", "j4125", [(8, 128, "eMMC")], (99, 119), ["new"], CHINA_SHOPS, None, n=1)

# ---- barebones and boards
add("board", "Intel NUC 11 Pro Kit NUC11TNHi5", "i5-1135g7", [(None, None, None)], (219, 269), ["new", "refurbished"], NEW_SHOPS, "nuc-board")
add("board", "Topton N305 Fanless Firewall Mini PC, 4x Intel i226-V 2.5GbE", "i3n305", [(None, None, None)], (249, 289), ["new"], ["AliExpress", "Amazon"], "nuc-board")
add("board", "CWWK N100 4-Port 2.5GbE Router Mini PC", "n100", [(None, None, None), (8, 128, "NVMe SSD")], (129, 169), ["new"], ["AliExpress", "Amazon"], "nuc-board")
add("board", "ASRock N100DC-ITX Mini-ITX Motherboard (CPU onboard)", "n100", [(None, None, None)], (109, 129), ["new"], ["Newegg", "Amazon", "B&H"], "nuc-board")
add("board", "ERYING Mini-ITX Motherboard with Onboard i7-12700H", "i7-12700h", [(None, None, None)], (229, 259), ["new"], ["AliExpress", "Amazon"], "nuc-board")
add("board", "MINISFORUM BD790i Mini-ITX Board", "r9-7945hx", [(None, None, None)], (469, 529), ["new"], ["Amazon", "Newegg"], "nuc-board")
add("board", "Intel NUC 13 Pro Kit NUC13ANHi7", "i7-1260p", [(None, None, None)], (419, 479), ["new"], ["B&H", "Newegg"], None, n=1)

# ---- tiny / micro (refurbished)
add("tiny", "Dell OptiPlex 7050 Micro", "i5-6500t", [(8, 128, "SATA SSD"), (8, 256, "SATA SSD")], (79, 99), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop")
add("tiny", "Dell OptiPlex 3060 Micro", "i5-8500t", [(8, 256, "SATA SSD"), (16, 256, "NVMe SSD")], (89, 129), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop", n=3)
add("tiny", "Dell OptiPlex 5070 Micro", "i5-9500t", [(16, 256, "NVMe SSD")], (119, 159), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop")
add("tiny", "Dell OptiPlex 7070 Micro", "i7-9700t", [(16, 512, "NVMe SSD")], (169, 219), ["refurbished"], REFURB_SHOPS, "tiny-desktop")
add("tiny", "Dell OptiPlex 7080 Micro", "i5-10500t", [(16, 256, "NVMe SSD"), (32, 512, "NVMe SSD")], (139, 199), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop", n=3)
add("tiny", "Dell OptiPlex 7090 Micro", "i7-10700t", [(16, 512, "NVMe SSD")], (219, 269), ["refurbished"], REFURB_SHOPS + ["Dell Outlet"], "tiny-desktop")
add("tiny", "Dell OptiPlex 7000 Micro", "i5-12500t", [(16, 256, "NVMe SSD")], (299, 379), ["refurbished"], ["Dell Outlet", "Dell Outlet", "eBay"], "tiny-desktop")
add("tiny", "Lenovo ThinkCentre M720q Tiny", "i5-8500t", [(16, 256, "NVMe SSD"), (8, 256, "SATA SSD")], (99, 149), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop", n=3)
add("tiny", "Lenovo ThinkCentre M920q Tiny", "i7-8700t", [(16, 512, "NVMe SSD")], (169, 209), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop")
add("tiny", "Lenovo ThinkCentre M70q Gen 2 Tiny", "i5-11400t", [(16, 256, "NVMe SSD")], (199, 249), ["refurbished"], REFURB_SHOPS, "tiny-desktop")
add("tiny", "Lenovo ThinkCentre M75q Gen 2 Tiny", "r5-4650ge", [(16, 256, "NVMe SSD"), (16, 512, "NVMe SSD")], (135, 189), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop", n=3)
add("tiny", "Lenovo ThinkCentre M90q Gen 3 Tiny", "i7-12700t", [(32, 1000, "NVMe SSD")], (419, 499), ["refurbished", "new"], ["Lenovo", "eBay", "Newegg"], "tiny-desktop")
add("tiny", "Lenovo ThinkCentre M715q Tiny", "r5-2400ge", [(8, 256, "SATA SSD")], (79, 109), ["used", "refurbished"], REFURB_SHOPS, None)
add("tiny", "HP EliteDesk 800 G4 Mini", "i5-8500t", [(16, 256, "NVMe SSD"), (8, 256, "NVMe SSD")], (85, 139), ["refurbished", "used"], REFURB_SHOPS, "tiny-desktop", n=3)
add("tiny", "HP EliteDesk 800 G5 Mini", "i7-9700t", [(16, 512, "NVMe SSD")], (159, 199), ["refurbished"], REFURB_SHOPS, "tiny-desktop")
add("tiny", "HP ProDesk 600 G6 Mini", "i5-10500t", [(16, 512, "NVMe SSD")], (159, 199), ["refurbished"], REFURB_SHOPS, None)
add("tiny", "HP EliteDesk 705 G4 Mini", "r5-2400ge", [(8, 256, "NVMe SSD")], (79, 99), ["used"], ["eBay"], None)
add("tiny", "HP Elite Mini 800 G9", "i5-12500t", [(16, 512, "NVMe SSD")], (379, 449), ["refurbished"], REFURB_SHOPS, "tiny-desktop")
add("tiny", "HP ProDesk 400 G3 Mini", "i5-6500t", [(8, 128, "SATA SSD")], (79, 95), ["used"], ["eBay", "Walmart"], None)

# ---- SFF office desktops
add("sff", "Dell OptiPlex 9020 SFF", "i7-4790", [(8, 240, "SATA SSD"), (16, 500, "HDD")], (79, 99), ["used", "refurbished"], REFURB_SHOPS, None)
add("sff", "Dell OptiPlex 7050 SFF", "i7-7700", [(16, 512, "SATA SSD")], (129, 179), ["refurbished", "used"], REFURB_SHOPS, "sff-desktop")
add("sff", "Dell OptiPlex 5060 SFF", "i5-8500", [(16, 256, "SATA SSD"), (8, 1000, "HDD")], (109, 159), ["refurbished", "used"], REFURB_SHOPS, "sff-desktop", n=3)
add("sff", "Dell OptiPlex 7060 SFF", "i7-8700", [(16, 512, "NVMe SSD"), (32, 1000, "NVMe SSD")], (169, 229), ["refurbished"], REFURB_SHOPS, "sff-desktop", n=3)
add("sff", "Dell OptiPlex 7070 SFF", "i7-9700", [(32, 1000, "NVMe SSD")], (229, 279), ["refurbished"], REFURB_SHOPS, "sff-desktop")
add("sff", "Dell OptiPlex 7080 SFF", "i7-10700", [(16, 512, "NVMe SSD")], (289, 349), ["refurbished"], REFURB_SHOPS + ["Dell Outlet"], "sff-desktop")
add("sff", "Dell OptiPlex 7010 SFF", "i5-13500", [(16, 512, "NVMe SSD")], (549, 649), ["new", "refurbished"], ["Dell Outlet", "Dell Outlet", "B&H"], "sff-desktop")
add("sff", "Dell OptiPlex 7000 SFF", "i7-12700", [(32, 1000, "NVMe SSD")], (649, 799), ["refurbished"], ["Dell Outlet", "eBay"], "sff-desktop")
add("sff", "Dell Precision 3431 SFF", "e-2224", [(16, 512, "NVMe SSD")], (199, 259), ["refurbished", "used"], REFURB_SHOPS, None)
add("sff", "Dell Precision 3420 SFF", "e3-1240v5", [(16, 256, "SATA SSD"), (32, 512, "SATA SSD")], (109, 149), ["used", "refurbished"], REFURB_SHOPS, "sff-desktop")
add("sff", "HP EliteDesk 800 G3 SFF", "i5-7500", [(8, 256, "SATA SSD"), (8, 500, "HDD")], (85, 119), ["refurbished", "used"], REFURB_SHOPS, "sff-desktop")
add("sff", "HP EliteDesk 800 G5 SFF", "i7-9700", [(16, 512, "NVMe SSD")], (199, 249), ["refurbished"], REFURB_SHOPS, "sff-desktop")
add("sff", "HP ProDesk 600 G4 SFF", "i5-8500", [(8, 256, "SATA SSD"), (16, 512, "NVMe SSD")], (109, 149), ["refurbished", "used"], REFURB_SHOPS, None, n=3)
add("sff", "HP Z2 G4 SFF Workstation", "e-2176g", [(32, 512, "NVMe SSD")], (329, 399), ["refurbished"], REFURB_SHOPS, "sff-desktop")
add("sff", "HP Elite SFF 600 G9", "i5-12500", [(16, 256, "NVMe SSD")], (459, 549), ["new", "refurbished"], ["B&H", "Newegg", "eBay"], None)
add("sff", "Lenovo ThinkCentre M920s SFF", "i7-8700", [(16, 512, "NVMe SSD")], (169, 219), ["refurbished", "used"], REFURB_SHOPS, "sff-desktop")
add("sff", "Lenovo ThinkCentre M710s SFF", "i5-6500", [(8, 256, "SATA SSD"), (8, 500, "HDD")], (79, 109), ["used", "refurbished"], REFURB_SHOPS, None)
add("sff", "Lenovo ThinkCentre M70s Gen 3 SFF", "i5-12400", [(16, 512, "NVMe SSD")], (449, 529), ["new"], ["Lenovo", "Lenovo", "B&H"], "sff-desktop")
add("sff", "Lenovo ThinkCentre M75s Gen 2 SFF", "r5-4650ge", [(16, 512, "NVMe SSD")], (189, 239), ["refurbished"], REFURB_SHOPS, None)

# ---- towers, workstations, gaming desktops
add("tower", "Dell Precision T5810 Workstation", "e5-2680v4", [(32, 512, "SATA SSD"), (64, 1000, "NVMe SSD")], (149, 239), ["used", "refurbished"], REFURB_SHOPS, "tower-rgb", extra={"workstation": True}, n=3)
add("tower", "HP Z440 Workstation", "e5-2690v3", [(32, 512, "SATA SSD"), (64, 2000, "HDD")], (149, 219), ["used", "refurbished"], REFURB_SHOPS, None, extra={"workstation": True})
add("tower", "HP Z4 G4 Workstation", "w-2135", [(32, 512, "NVMe SSD")], (299, 379), ["refurbished"], REFURB_SHOPS, None, extra={"workstation": True})
add("tower", "Lenovo ThinkStation P520", "w-2145", [(64, 1000, "NVMe SSD")], (399, 479), ["refurbished"], REFURB_SHOPS, None, extra={"workstation": True})
add("tower", "Dell Precision 3620 Tower", "e3-1240v5", [(16, 512, "SATA SSD"), (32, 4000, "HDD")], (109, 159), ["used"], ["eBay"], None, extra={"workstation": True})
add("tower", "CyberPowerPC Gamer Xtreme VR", "i5-13400f", [(16, 1000, "NVMe SSD")], (899, 1049), ["new"], ["Best Buy", "Amazon", "Walmart"], "tower-rgb", extra={"gpu": "GeForce RTX 4060"})
add("tower", "iBUYPOWER Scale Gaming PC", "r5-5600", [(16, 1000, "NVMe SSD")], (699, 799), ["new"], ["Walmart", "Amazon", "Newegg"], "tower-rgb", extra={"gpu": "Radeon RX 6600"})
add("tower", "Skytech Azure Gaming PC", "r7-7800x3d", [(32, 1000, "NVMe SSD")], (1499, 1699), ["new"], ["Amazon", "Newegg"], "tower-rgb", extra={"gpu": "GeForce RTX 4070 SUPER"})
add("tower", "HP OMEN 45L Gaming Desktop", "i9-13900k", [(32, 2000, "NVMe SSD")], (2199, 2399), ["new"], ["Best Buy", "HP"], "tower-rgb", extra={"gpu": "GeForce RTX 4080"}, n=1)
add("tower", "Lenovo Legion Tower 5", "r7-7700", [(16, 1000, "NVMe SSD")], (1099, 1249), ["new"], ["Lenovo", "Best Buy"], "tower-rgb", extra={"gpu": "GeForce RTX 4060 Ti"})
add("tower", "Dell XPS 8960 Desktop", "i7-14700", [(32, 1000, "NVMe SSD")], (1299, 1499), ["new"], ["Dell Outlet", "Best Buy"], None, extra={"gpu": "GeForce RTX 4060 Ti"})
add("tower", "Alienware Aurora R16", "i9-14900kf", [(32, 2000, "NVMe SSD")], (2199, 2399), ["new", "refurbished"], ["Dell Outlet", "Best Buy"], "tower-rgb", extra={"gpu": "GeForce RTX 4080 SUPER"}, n=1)
add("tower", "PowerSpec G468 Gaming PC", "r7-5700x", [(16, 1000, "NVMe SSD")], (749, 849), ["new"], ["Micro Center"], "tower-rgb", extra={"gpu": "GeForce RTX 4060"})
add("tower", "Thermaltake LCGS Reactor Gaming PC", "r5-7600", [(32, 1000, "NVMe SSD")], (999, 1099), ["new"], ["Amazon", "Newegg"], "tower-rgb", extra={"gpu": "Radeon RX 7700 XT"})
add("tower", "Acer Aspire TC-1780 Desktop", "i5-13400", [(16, 512, "NVMe SSD")], (549, 629), ["new"], ["Best Buy", "Walmart", "Amazon"], None)
add("tower", "HP Pavilion Desktop TP01", "r5-5600g", [(16, 512, "NVMe SSD")], (449, 529), ["new", "refurbished"], ["Best Buy", "Walmart", "HP"], None)
add("tower", "Dell Inspiron 3030 Desktop", "i5-14400", [(16, 1000, "NVMe SSD")], (599, 699), ["new"], ["Dell Outlet", "Best Buy"], None)
add("tower", "Custom Build Ryzen 9 5900X Workstation", "r9-5900x", [(64, 2000, "NVMe SSD")], (899, 1099), ["used"], ["eBay"], "tower-rgb", extra={"gpu": "Radeon RX 6700 XT"}, n=1)
add("tower", "Lenovo ThinkCentre M70t Gen 4 Tower", "i5-13500", [(16, 512, "NVMe SSD")], (599, 679), ["new"], ["Lenovo"], None, n=1)

# ---- laptops
add("laptop", "Lenovo ThinkPad T480", "i5-8350u", [(16, 256, "NVMe SSD"), (8, 256, "NVMe SSD")], (139, 189), ["refurbished", "used"], REFURB_SHOPS, "laptop-thin", extra={"screen": '14"'}, n=3)
add("laptop", "Lenovo ThinkPad T490", "i7-8665u", [(16, 512, "NVMe SSD")], (179, 229), ["refurbished"], REFURB_SHOPS, "laptop-thin", extra={"screen": '14"'})
add("laptop", "Lenovo ThinkPad T14 Gen 1", "r7-4750u", [(16, 512, "NVMe SSD")], (249, 299), ["refurbished"], REFURB_SHOPS, "laptop-thin", extra={"screen": '14" FHD'})
add("laptop", "Lenovo ThinkPad X1 Carbon Gen 9", "i7-1165g7", [(16, 512, "NVMe SSD")], (379, 449), ["refurbished"], REFURB_SHOPS, "laptop-thin", extra={"screen": '14" WUXGA'})
add("laptop", "Lenovo ThinkPad E14 Gen 5", "r5-7530u", [(16, 512, "NVMe SSD")], (549, 629), ["new"], ["Lenovo", "Amazon"], "laptop-open", extra={"screen": '14" WUXGA'})
add("laptop", "Dell Latitude 7490", "i5-8350u", [(8, 256, "NVMe SSD"), (16, 256, "NVMe SSD")], (129, 169), ["refurbished", "used"], REFURB_SHOPS, None, extra={"screen": '14" FHD'})
add("laptop", "Dell Latitude 5420", "i5-1145g7", [(16, 256, "NVMe SSD")], (249, 299), ["refurbished"], REFURB_SHOPS + ["Dell Outlet"], "laptop-thin", extra={"screen": '14" FHD'})
add("laptop", "Dell Latitude 7430", "i7-1265u", [(16, 512, "NVMe SSD")], (399, 479), ["refurbished"], ["Dell Outlet", "eBay"], None, extra={"screen": '14" FHD+'})
add("laptop", "Dell XPS 13 9315", "i5-1230u", [(8, 512, "NVMe SSD")], (599, 699), ["new", "refurbished"], ["Dell Outlet", "Best Buy"], "laptop-open", extra={"screen": '13.4" FHD+'})
add("laptop", "Dell Inspiron 15 3520", "i5-1235u", [(8, 512, "NVMe SSD"), (16, 512, "NVMe SSD")], (429, 499), ["new"], ["Dell Outlet", "Walmart", "Best Buy"], "laptop-open", extra={"screen": '15.6" FHD'})
add("laptop", "HP EliteBook 840 G5", "i5-8350u", [(8, 256, "NVMe SSD")], (119, 159), ["refurbished", "used"], REFURB_SHOPS, None, extra={"screen": '14" FHD'})
add("laptop", "HP EliteBook 840 G8", "i5-1145g7", [(16, 256, "NVMe SSD")], (279, 329), ["refurbished"], REFURB_SHOPS, "laptop-thin", extra={"screen": '14" FHD'})
add("laptop", "HP 15-fd0000", "i3n305", [(8, 256, "NVMe SSD")], (299, 349), ["new"], ["Walmart", "Best Buy", "HP"], "laptop-open", extra={"screen": '15.6" FHD'})
add("laptop", "HP Victus 15", "i5-12450h", [(8, 512, "NVMe SSD"), (16, 512, "NVMe SSD")], (549, 649), ["new"], ["Best Buy", "Walmart", "HP"], "laptop-open", extra={"screen": '15.6" FHD 144Hz', "gpu": "GeForce RTX 3050"})
add("laptop", "HP Stream 14", "n4120", [(4, 64, "eMMC")], (179, 229), ["new"], ["Walmart", "Amazon"], None, extra={"screen": '14" HD'})
add("laptop", "Acer Aspire 5", "r7-5700u", [(16, 512, "NVMe SSD")], (429, 499), ["new"], NEW_SHOPS, "laptop-open", extra={"screen": '15.6" FHD'})
add("laptop", "Acer Aspire 3", "r5-7520u", [(8, 512, "NVMe SSD")], (299, 369), ["new"], NEW_SHOPS, "laptop-open", extra={"screen": '15.6" FHD'})
add("laptop", "Acer Nitro V 15", "i5-13420h", [(8, 512, "NVMe SSD")], (649, 749), ["new"], ["Best Buy", "Amazon", "Walmart"], "laptop-open", extra={"screen": '15.6" FHD 144Hz', "gpu": "GeForce RTX 4050"})
add("laptop", "Acer Swift Go 14", "u7-155h", [(16, 1000, "NVMe SSD")], (749, 849), ["new"], ["Amazon", "Best Buy"], "laptop-thin", extra={"screen": '14" 2.8K OLED'})
add("laptop", "ASUS Vivobook 15", "i5-1235u", [(8, 512, "NVMe SSD")], (379, 449), ["new"], NEW_SHOPS, "laptop-open", extra={"screen": '15.6" FHD'})
add("laptop", "ASUS TUF Gaming A15", "r7-7735hs", [(16, 512, "NVMe SSD")], (749, 849), ["new"], NEW_SHOPS, "laptop-open", extra={"screen": '15.6" FHD 144Hz', "gpu": "GeForce RTX 4050"})
add("laptop", "ASUS ROG Zephyrus G14", "r9-7940hs", [(16, 1000, "NVMe SSD")], (1299, 1499), ["new"], ["Best Buy", "Amazon", "B&H"], "laptop-thin", extra={"screen": '14" QHD+ 165Hz', "gpu": "GeForce RTX 4060"})
add("laptop", "ASUS ROG Strix G16", "i9-13980hx", [(16, 1000, "NVMe SSD")], (1599, 1799), ["new"], ["Best Buy", "Newegg"], "laptop-open", extra={"screen": '16" QHD+ 240Hz', "gpu": "GeForce RTX 4070"})
add("laptop", "ASUS Zenbook 14 OLED", "u5-125h", [(16, 512, "NVMe SSD")], (799, 899), ["new"], ["Best Buy", "Amazon", "B&H"], "laptop-thin", extra={"screen": '14" 3K OLED'})
add("laptop", "Lenovo IdeaPad Slim 3", "r5-7520u", [(8, 512, "NVMe SSD")], (329, 399), ["new"], ["Best Buy", "Lenovo", "Walmart"], "laptop-open", extra={"screen": '15.6" FHD'})
add("laptop", "Lenovo IdeaPad 1", "n4500", [(4, 128, "eMMC")], (199, 249), ["new"], ["Walmart", "Amazon"], None, extra={"screen": '14" HD'})
add("laptop", "Lenovo Legion 5 Pro", "r7-6800h", [(16, 512, "NVMe SSD")], (1099, 1299), ["new", "refurbished"], ["Lenovo", "Best Buy"], "laptop-open", extra={"screen": '16" WQXGA 165Hz', "gpu": "GeForce RTX 3070 Ti"})
add("laptop", "Lenovo Legion Pro 7i", "i9-14900hx", [(32, 2000, "NVMe SSD")], (2199, 2399), ["new"], ["Lenovo", "Best Buy"], "laptop-open", extra={"screen": '16" WQXGA 240Hz', "gpu": "GeForce RTX 4080"}, n=1)
add("laptop", "Lenovo Yoga 7i", "i7-1355u", [(16, 1000, "NVMe SSD")], (649, 749), ["new"], ["Best Buy", "Lenovo"], "laptop-thin", extra={"screen": '16" 2-in-1 Touch'})
add("laptop", "MSI Katana 15", "i7-13620h", [(16, 1000, "NVMe SSD")], (899, 999), ["new"], ["Newegg", "Amazon", "Micro Center"], "laptop-open", extra={"screen": '15.6" FHD 144Hz', "gpu": "GeForce RTX 4060"})
add("laptop", "MSI Thin GF63", "i5-12450h", [(8, 512, "NVMe SSD")], (549, 649), ["new"], ["Walmart", "Newegg", "Amazon"], "laptop-open", extra={"screen": '15.6" FHD 144Hz', "gpu": "GeForce RTX 2050"})
add("laptop", "MSI Raider GE78 HX", "i9-13980hx", [(32, 2000, "NVMe SSD")], (2299, 2399), ["new", "refurbished"], ["Newegg", "Micro Center"], None, extra={"screen": '17" QHD+ 240Hz', "gpu": "GeForce RTX 4080"}, n=1)
add("laptop", "Razer Blade 14", "r9-8945hs", [(16, 1000, "NVMe SSD")], (1999, 2299), ["new"], ["Best Buy", "Amazon"], "laptop-thin", extra={"screen": '14" QHD+ 240Hz', "gpu": "GeForce RTX 4060"}, n=1)
add("laptop", "Framework Laptop 13", "r7-7840u", [(32, 1000, "NVMe SSD")], (1099, 1299), ["new"], ["Framework"], "laptop-thin", extra={"screen": '13.5" 2256x1504'}, n=1)
add("laptop", "Samsung Galaxy Book3", "i5-1335u", [(8, 512, "NVMe SSD")], (499, 599), ["new"], ["Best Buy", "Amazon", "Samsung"], "laptop-thin", extra={"screen": '15.6" FHD'})
add("laptop", "Gigabyte G5", "i5-12500h", [(16, 512, "NVMe SSD")], (699, 799), ["new"], ["Newegg", "Amazon"], "laptop-open", extra={"screen": '15.6" FHD 144Hz', "gpu": "GeForce RTX 4050"})
add("laptop", "Dell G15 5530", "i7-13650hx", [(16, 1000, "NVMe SSD")], (999, 1149), ["new", "refurbished"], ["Dell Outlet", "Best Buy"], "laptop-open", extra={"screen": '15.6" FHD 165Hz', "gpu": "GeForce RTX 4060"})
add("laptop", "Acer Chromebook 314", "n4500", [(4, 64, "eMMC")], (149, 199), ["new"], ["Walmart", "Best Buy", "Amazon"], None, extra={"screen": '14" FHD', "chromebook": True})
add("laptop", "HP Chromebook 14", "athlon3050u", [(4, 32, "eMMC")], (159, 199), ["new", "refurbished"], ["Walmart", "eBay"], None, extra={"screen": '14" HD', "chromebook": True})
add("laptop", "ASUS L410", "n4020", [(4, 64, "eMMC")], (279, 299), ["new"], ["Walmart"], None, extra={"screen": '14" FHD'}, n=1)
add("laptop", "Lenovo IdeaPad 3i", "n4020", [(4, 128, "eMMC")], (239, 289), ["new"], ["Walmart", "Best Buy"], None, extra={"screen": '14" HD'}, n=1)
add("laptop", "Lenovo ThinkPad X13 Gen 2", "r5-5600u", [(16, 256, "NVMe SSD")], (299, 359), ["refurbished"], REFURB_SHOPS, "laptop-thin", extra={"screen": '13.3" WUXGA'})
add("laptop", "HP ProBook 450 G10", "i7-1355u", [(16, 512, "NVMe SSD")], (749, 849), ["new"], ["B&H", "HP"], None, extra={"screen": '15.6" FHD'}, n=1)
add("laptop", "Lenovo ThinkPad P16s Gen 2", "r7-7840u", [(32, 1000, "NVMe SSD")], (1149, 1299), ["new"], ["Lenovo"], "laptop-thin", extra={"screen": '16" WUXGA'}, n=1)


def stor_str(gb):
    if gb is None:
        return None
    if gb >= 1000 and gb % 1000 == 0:
        return f"{gb // 1000}TB"
    return f"{gb}GB"


def price_of(lo, hi):
    p = rng.uniform(lo, hi)
    style = rng.random()
    if style < 0.55:
        return round(int(p) + 0.99, 2)
    if style < 0.8:
        return float(round(p))
    return round(p, 2)


def title_for(t, cfg, seller, cond):
    name = t["name"]
    cpu_name, _mark, short, ramtype = CPUS[t["cpu"]]
    ram, stor, stype = cfg
    s = stor_str(stor)
    st_short = {"NVMe SSD": "NVMe", "SATA SSD": "SSD", "HDD": "HDD", "eMMC": "eMMC"}.get(stype)
    ali_disk = {"NVMe SSD": "NVMe SSD", "SATA SSD": "SATA SSD", "HDD": "HDD", "eMMC": "eMMC"}.get(stype)
    form = t["form"]
    ex = t["extra"]
    r = rng.random()
    if form == "board":
        base = name
        if ram is None:
            tail = rng.choice([", Barebone (No RAM, No SSD, No OS)", " Barebone, No RAM/Storage", " - Barebone Kit"])
        else:
            tail = f", {ram}GB {ramtype}, {s} {st_short}"
        if "Onboard" in name or "onboard" in name or "N305" in name or "N100" in name:
            return base + tail
        return f"{base}, {cpu_name}" + tail
    if form == "mini":
        if seller == "AliExpress":
            return (f"{name} Mini PC {short} Windows 11 Pro {ramtype} {ram}GB {s} {ali_disk} "
                    f"WiFi6 BT5.2 Desktop Gaming Computer")
        if r < 0.5:
            extras = rng.choice(["Windows 11 Pro", "W11 Pro, 4K Triple Display, WiFi 6, BT5.2",
                                 "Dual 2.5G LAN, WiFi 6E", "4K@60Hz Dual HDMI, Gigabit Ethernet",
                                 "USB4, WiFi 6E, BT5.3", "Home Server/Office"])
            return f"{name} Mini PC, {cpu_name}, {ram}GB {ramtype}, {s} {stype}, {extras}"
        if r < 0.8:
            return f"{name} {short} {ram}GB/{s} Mini PC"
        return f"{name} Mini Desktop Computer - {cpu_name} - {ram}GB RAM - {s} SSD - Windows 11 Pro"
    if form in ("tiny", "sff"):
        ff = rng.choice(["Desktop PC", "Business Desktop", "Desktop Computer"])
        if seller == "eBay":
            w = rng.choice(["Win 11 Pro", "Win11", "No OS", "W11P", "Windows 10 Pro"])
            tag = rng.choice(["", " - Tested", " Grade A", " READ", " Lot of 1", " FAST SHIP", " WiFi"])
            return f"{name} {short} {ram}GB RAM {s} {st_short} {w}{tag}"
        if seller in ("Dell Outlet", "Lenovo"):
            return f"{name} - {cpu_name}, {ram}GB, {s} {stype}, Windows 11 Pro"
        renewed = " (Renewed)" if cond == "refurbished" and seller == "Amazon" else ""
        return f"{name} {ff}, {cpu_name}, {ram}GB RAM, {s} {st_short if stype != 'HDD' else 'HDD'}, Windows 11 Pro{renewed}"
    if form == "tower":
        gpu = ex.get("gpu")
        if ex.get("workstation"):
            if seller == "eBay":
                return f"{name} {short} {ram}GB DDR4 ECC {s} {st_short} Quadro P2000 Win10 Pro"
            return f"{name}, {cpu_name}, {ram}GB ECC RAM, {s} {stype}, Windows 10 Pro{' (Renewed)' if seller == 'Amazon' else ''}"
        if seller in ("Best Buy", "Micro Center"):
            return f"{name} - {cpu_name} - {ram}GB Memory - {gpu or 'Intel UHD Graphics'} - {s} SSD"
        if gpu:
            return f"{name}, {cpu_name}, {gpu}, {ram}GB {ramtype}, {s} {stype}, WiFi, Windows 11 Home"
        return f"{name}, {cpu_name}, {ram}GB RAM, {s} SSD, Windows 11 Home"
    if form == "laptop":
        screen = ex.get("screen", '15.6"')
        gpu = ex.get("gpu")
        if ex.get("chromebook"):
            return f"{name} {screen} Chromebook, {cpu_name}, {ram}GB RAM, {s} {stype}, ChromeOS"
        disk = f"{s} eMMC" if stype == "eMMC" else f"{s} SSD"
        if seller == "eBay":
            w = rng.choice(["Win 11 Pro", "Win11", "W10P", "Windows 11", "No OS"])
            return f"{name} {screen.split()[0]} {short} {ram}GB {s} {st_short} {w}" + rng.choice(["", " Grade A", " - Good Battery", " Backlit KB"])
        if seller in ("Best Buy", "Micro Center"):
            return f"{name} {screen} Laptop - {cpu_name} - {ram}GB Memory - {gpu + ' - ' if gpu else ''}{disk}"
        renewed = " (Renewed)" if cond == "refurbished" and seller == "Amazon" else ""
        gpu_s = f", {gpu}" if gpu else ""
        return f"{name} {screen} Laptop, {cpu_name}{gpu_s}, {ram}GB RAM, {disk}, Windows 11{renewed}"
    raise ValueError(form)


start = datetime(2026, 10, 1, tzinfo=timezone.utc)
end = datetime(2026, 11, 27, 23, 0, tzinfo=timezone.utc)


def ts():
    secs = rng.randrange(int((end - start).total_seconds()) // 60) * 60
    return (start + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%SZ")


regular = []
for t in T:
    for k in range(t["n"]):
        cfg = t["configs"][k % len(t["configs"])]
        seller = rng.choice(t["sellers"])
        cond = rng.choice(t["conds"])
        if seller == "eBay" and cond == "new" and t["form"] in ("tiny", "sff"):
            cond = "used"
        lo, hi = t["price"]
        bump = 0
        if cfg[0] and len(t["configs"]) > 1 and k % len(t["configs"]) > 0:
            base = t["configs"][0]
            bump = ((cfg[0] or 0) - (base[0] or 0)) * 2 + ((cfg[1] or 0) - (base[1] or 0)) * 0.04
        price = price_of(lo + bump, hi + bump)
        if cond == "used":
            price = round(int(price * 0.9) + 0.99, 2) if rng.random() < 0.5 else float(round(price * 0.9))
        image = None
        if t["image"] and rng.random() < 0.8:
            image = f"sample:{t['image']}.{'jpg' if t['image'] == 'nuc-board' else 'png'}"
        cpu_name, mark, _s, _r = CPUS[t["cpu"]]
        regular.append({
            "title": title_for(t, cfg, seller, cond),
            "price_usd": price,
            "currency": "USD",
            "cpu_name": cpu_name,
            "cpu_mark": mark,
            "ram_gb": cfg[0],
            "storage_gb": cfg[1],
            "storage_type": cfg[2],
            "condition": cond,
            "seller": seller,
            "image_url": image,
            "updated_at": ts(),
        })

rng.shuffle(regular)
for i, l in enumerate(regular, 1):
    l["id"] = f"dl-{i:04d}"
# a few real-world listings hide the price ("see price in cart")
hidden = [l for l in regular[40:] if l["seller"] in ("Newegg", "Amazon") and l["condition"] == "new"][:2]
for l in hidden:
    l["price_usd"] = None
    l["title"] += " - See Price in Cart"


def listing(id_, title, price, cpu, ram, stor, stype, cond, seller, image, cpu_name=..., cpu_mark=..., when=None):
    if cpu is not None:
        n, m, _s, _r = CPUS[cpu]
    else:
        n, m = None, None
    return {
        "id": id_,
        "title": title,
        "price_usd": price,
        "currency": "USD",
        "cpu_name": n if cpu_name is ... else cpu_name,
        "cpu_mark": m if cpu_mark is ... else cpu_mark,
        "ram_gb": ram,
        "storage_gb": stor,
        "storage_type": stype,
        "condition": cond,
        "seller": seller,
        "image_url": image,
        "updated_at": when or ts(),
    }


LONG300 = ("Beelink SER5 Max Mini PC, AMD Ryzen 7 5800H (8C/16T, up to 4.4GHz), 32GB DDR4 3200MHz RAM, 500GB PCIe 3.0 "
           "NVMe SSD, Mini Desktop Computer Support 4K@60Hz Triple Display (HDMI+DP+USB-C), WiFi 6, Bluetooth 5.2, "
           "Gigabit Ethernet, USB 3.2, Windows 11 Pro Pre-installed, Small Form Factor for Home Office Business Gaming "
           "and Streaming")

LONG1000_PARTS = [
    "Dell OptiPlex 7080 Micro Form Factor Business Desktop Computer",
    "Intel 10th Gen Core i5-10500T 6-Core 12-Thread Processor up to 3.8GHz Turbo",
    "16GB DDR4 2666MHz RAM (2x8GB, upgradable to 64GB)",
    "512GB M.2 PCIe NVMe Solid State Drive for lightning-fast boot and load times",
    "Intel UHD Graphics 630 with support for up to three 4K displays via DisplayPort 1.4 and HDMI 2.0",
    "Intel Wi-Fi 6 AX201 and Bluetooth 5.1 plus Intel I219-LM Gigabit Ethernet",
    "Front USB 3.2 Gen 2 Type-C, 5x USB-A, universal audio jack",
    "Windows 11 Pro 64-bit preinstalled and activated",
    "Includes Dell 90W power adapter, wired keyboard and mouse, VESA mount bracket",
    "Professionally inspected, cleaned and tested by a Microsoft Authorized Refurbisher",
    "90-day seller warranty, ships in neutral packaging within one business day",
    "Ideal for home office, remote learning, point of sale, digital signage, Plex media server, Home Assistant, "
    "Proxmox homelab, pfSense or OPNsense firewall, Docker containers, light photo editing and everyday productivity",
    "Energy Star certified and EPEAT registered, whisper-quiet operation under 25 dB at idle",
    "(Renewed)",
]
LONG1000 = ", ".join(LONG1000_PARTS)
while len(LONG1000) < 1000:
    LONG1000 += ", Free Shipping"
LONG1000 = LONG1000[:1000].rstrip(", ")

MAX_ID = "dl_edge-max-length-id-" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
MAX_ID = MAX_ID[:64]
assert len(MAX_ID) == 64

edges = [
    listing("dl_edge-long-title", LONG300, 279.99, "r7-5800h", 32, 500, "NVMe SSD", "new", "Amazon", "sample:mini-pc-dark.png"),
    listing("dl_edge-long-title-1000", LONG1000, 179.0, "i5-10500t", 16, 512, "NVMe SSD", "refurbished", "Amazon", "sample:tiny-desktop.png"),
    listing("dl_edge-one-word", "OptiPlex", 95.0, "i5-8500t", 8, 256, "SATA SSD", "used", "eBay", None),
    listing("dl_edge-emoji", "🔥🔥 DEAL 🔥🔥 Beelink EQ12 N100 💻⚡ 16GB/500GB 🚀🚀 LOWEST PRICE EVER 💰💰💰 ✅ Free Shipping 📦",
            149.0, "n100", 16, 500, "NVMe SSD", "new", "Amazon", "sample:mini-pc-silver.png"),
    listing("dl_edge-emoji-only", "🔥🔥💻⚡🚀💰💰✅🖥️🎮🔥🔥", 299.0, "r7-5800h", 16, 500, "NVMe SSD", "new", "AliExpress", None),
    listing("dl_edge-cjk-zh", "零刻 SER5 Max 迷你主机 AMD 锐龙7 5800H 32GB内存 500GB固态硬盘 办公游戏小主机 四K三屏输出",
            1999 / 7.1, "r7-5800h", 32, 500, "NVMe SSD", "new", "AliExpress", "sample:mini-pc-dark.png"),
    listing("dl_edge-cjk-ja", "ミニPC インテル N100 16GB DDR4 512GB NVMe SSD 小型デスクトップパソコン 4K デュアルディスプレイ 静音 省電力",
            169.99, "n100", 16, 512, "NVMe SSD", "new", "Amazon", "sample:mini-pc-silver.png"),
    listing("dl_edge-cjk-ko", "미니 PC 인텔 N100 16GB 512GB SSD 윈도우 11 프로 사무용 초소형 컴퓨터 무소음 듀얼 모니터 지원",
            159.0, "n100", 16, 512, "NVMe SSD", "new", "AliExpress", None),
    listing("dl_edge-rtl", "מחשב מיני Beelink SER5 עם Ryzen 7 5800H ו-32GB RAM — جهاز صغير وسريع (500GB NVMe)",
            289.0, "r7-5800h", 32, 500, "NVMe SSD", "new", "Amazon", "sample:mini-pc-dark.png"),
    listing("dl_edge-rtl-ar", "حاسوب مكتبي صغير بمعالج سداسي النواة وذاكرة ستة عشر جيجابايت وقرص تخزين سريع، مجدد بحالة ممتازة",
            139.0, "i5-8500t", 16, 256, "NVMe SSD", "refurbished", "eBay", "sample:tiny-desktop.png"),
    listing("dl_edge-rtl-he", "מחשב נייד עסקי קל משקל עם מסך ארבע עשרה אינץ׳, זיכרון שש עשרה ג׳יגה ודיסק מהיר – מחודש",
            229.0, "i7-8665u", 16, 512, "NVMe SSD", "refurbished", "eBay", "sample:laptop-thin.png"),
    listing("dl_edge-html-script", "<script>alert(1)</script> Dell OptiPlex 3060 Micro i5-8500T 8GB 256GB SSD",
            99.0, "i5-8500t", 8, 256, "SATA SSD", "refurbished", "eBay", "sample:tiny-desktop.png"),
    listing("dl_edge-html-style", "</style><h1>x</h1> HP EliteDesk 800 G4 \"Mini\" 'Business' PC i5-8500T <img src=x onerror=alert(2)>",
            109.0, "i5-8500t", 16, 256, "NVMe SSD", "used", "eBay", None),
    listing("dl_edge-html-quotes", "Lenovo ThinkCentre M720q 1.4\" thin 'Tiny' PC — \"like new\" & it's <b>cheap</b> `backtick` \\ backslash",
            119.0, "i5-8500t", 16, 256, "NVMe SSD", "refurbished", "Newegg", "sample:tiny-desktop.png"),
    listing("dl_edge-html-amp", "Dell &amp; HP Refurb Bundle: OptiPlex 3060 &amp;amp; EliteDesk 800 G4 &lt;2 units&gt; &#x27;Lot&#x27; &copy;",
            189.0, "i5-8500t", 8, 256, "SATA SSD", "used", "eBay", None),
    listing("dl_edge-template", "{{template}} {{ listing.title }} {{7*7}} ${price} {% if x %}{{/each}} %s %d Beelink EQ12 N100",
            169.0, "n100", 16, 500, "NVMe SSD", "new", "Amazon", "sample:mini-pc-dark.png"),
    listing("dl_edge-combining", "Mini PC 👨\u200d👩\u200d👧\u200d👦 family edition: Z\u0337\u0353a\u0336\u0318l\u0338\u031ag\u0335\u0316o\u0334\u0355 "
            "cafe\u0301 Ryzen\u200b7\u200b5800H, 🏳\ufe0f\u200d🌈 🧑\u200d💻 👍🏽, no\u200cjoin, soft\u00adhyphen, क्\u200dष, \u0e01\u0e34\u0e4a",
            279.0, "r7-5800h", 32, 500, "NVMe SSD", "new", "Amazon", "sample:mini-pc-dark.png"),
    listing("dl_edge-null-price", "Lenovo ThinkCentre M75q Gen 2 Tiny Ryzen 5 PRO 4650GE 16GB 256GB (price on request)",
            None, "r5-4650ge", 16, 256, "NVMe SSD", "refurbished", "eBay", "sample:tiny-desktop.png"),
    listing("dl_edge-null-cpu-mark", "Zhaoxin KaiXian KX-6640MA Office Mini PC 8GB DDR4 256GB SSD",
            129.0, None, 8, 256, "SATA SSD", "new", "AliExpress", "sample:mini-pc-silver.png",
            cpu_name="Zhaoxin KaiXian KX-6640MA", cpu_mark=None),
    listing("dl_edge-no-cpu-name", "Refurbished Business Mini PC 16GB RAM 256GB SSD Windows 11 Pro (CPU varies)",
            99.0, None, 16, 256, "NVMe SSD", "refurbished", "Walmart", None, cpu_name=None, cpu_mark=9300),
    listing("dl_edge-no-cpu", "Mystery Box Desktop PC – Specs Vary, Tested Working",
            59.0, None, None, None, None, "used", "eBay", None),
    {
        "id": "dl_edge-all-null",
        "title": "Untitled listing",
        "price_usd": None,
        "currency": "USD",
        "cpu_name": None,
        "cpu_mark": None,
        "ram_gb": None,
        "storage_gb": None,
        "storage_type": None,
        "condition": None,
        "seller": None,
        "image_url": None,
        "updated_at": "2026-11-01T00:00:00Z",
    },
    listing("dl_edge-cheap", "FOR PARTS: Dell Wyse 5070 Thin Client Celeron J4105, no power adapter, no storage",
            9.99, None, 4, None, None, "used", "eBay", None, cpu_name="Intel Celeron J4105", cpu_mark=2920),
    listing("dl_edge-expensive", "Lenovo ThinkStation P8 Workstation, AMD Ryzen Threadripper PRO 7995WX 96-Core, 512GB DDR5 ECC, 8TB NVMe, RTX 6000 Ada",
            24999.0, None, 512, 8000, "NVMe SSD", "new", "Lenovo", "sample:tower-rgb.png",
            cpu_name="AMD Ryzen Threadripper PRO 7995WX", cpu_mark=151000),
    listing("dl_edge-emoji-seller", "Beelink Mini S12 Pro N100 16GB 500GB Mini PC", 144.99, "n100", 16, 500, "NVMe SSD", "new",
            "🔥 Deal Hunters 🔥", "sample:mini-pc-silver.png"),
    listing("dl_edge-seller-long", "HP EliteDesk 800 G4 Mini i5-8500T 16GB 256GB NVMe Win 11 Pro", 104.5, "i5-8500t", 16, 256,
            "NVMe SSD", "refurbished", "Bob's Discount Computers & Refurb Outlet — \"Certified\" <Seller> Store #42", None),
    listing("dl_edge-whitespace", "  \tDell OptiPlex 7060 SFF   i7-8700\n16GB   512GB  NVMe \u00a0 (extra   spaces)  ", 189.0,
            "i7-8700", 16, 512, "NVMe SSD", "refurbished", "eBay", "sample:sff-desktop.png"),
    listing("dl_edge-barebone-null-ram", "MINISFORUM BD790i Mini-ITX Board, Ryzen 9 7945HX, Barebone", 499.0, "r9-7945hx", None, None, None,
            "new", "Newegg", "sample:nuc-board.jpg"),
    listing(MAX_ID, "Max-length id: GMKtec NucBox G3 N100 8GB 256GB Mini PC", 119.0, "n100", 8, 256, "NVMe SSD", "new",
            "Amazon", None),
    listing("dl_edge-price-fraction", "Trigkey Green G4 N100 16GB 500GB Mini PC (price with odd cents)", 147.345, "n100", 16, 500,
            "NVMe SSD", "new", "Amazon", "sample:mini-pc-dark.png"),
]
for e in edges:
    if isinstance(e["price_usd"], float):
        e["price_usd"] = round(e["price_usd"], 3 if e["id"] == "dl_edge-price-fraction" else 2)

listings = regular + edges
listings.sort(key=lambda l: l["id"])
order = ["id", "title", "price_usd", "currency", "cpu_name", "cpu_mark", "ram_gb", "storage_gb", "storage_type",
         "condition", "seller", "image_url", "updated_at"]
listings = [{k: l[k] for k in order} for l in listings]

with open(OUT, "w", encoding="utf-8") as fh:
    fh.write('{"listings": [\n')
    for i, l in enumerate(listings):
        fh.write("  " + json.dumps(l, ensure_ascii=False) + (",\n" if i < len(listings) - 1 else "\n"))
    fh.write("]}\n")
print(len(regular), "regular,", len(edges), "edge")
